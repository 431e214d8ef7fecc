// A container's task log limits: chosen when the container is created (its
// --log-max-size and --log-max-files, else the daemon's config.toml values),
// kept in the container record's runtime options as
//   {"log_max_size": 10485760, "log_max_files": 2}
// and handed to the shim at every task create. Fixing them at create, as
// docker does with its log options, means a config change never surprises a
// container that already exists.
#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>

#include "schema/log_limits.hpp"

namespace berth {

// The limits for container ns/id: `size` and `files` as the client sent
// them (0: the daemon's `defaults`), or an invalid_argument error naming
// the flag, the container and the rule.
caf::expected<log_limits> choose_log_limits(std::int64_t size, std::int64_t files,
                                            const log_limits& defaults, const std::string& ns,
                                            const std::string& id);

// The record's runtime options with the limits set.
std::string with_log_limits(const std::string& runtime_options, const log_limits& limits);

// The limits a record's runtime options hold; the defaults where they hold
// none (a container created before berth had limits).
log_limits log_limits_of(const std::string& runtime_options);

}  // namespace berth
