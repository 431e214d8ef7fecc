// A host device given to a container (--device HOST[:CONTAINER[:PERMS]], as
// docker reads it): its path on the host, its path inside, and what the
// container may do with it (r read, w write, m mknod). The CLI parses the
// flag here and berthd checks the request's fields against the same rules;
// only berthd looks at the host path itself (actors/daemon/host_devices.*).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

struct device_mapping {
  std::string host_path;
  std::string container_path;  // empty: the host path
  std::string permissions;     // empty: "rwm"
};

// "HOST", "HOST:CONTAINER", "HOST:PERMS", "HOST:CONTAINER:PERMS" (a second
// part that is a valid PERMS is taken as such, as docker does), with the
// defaults filled in. Throws std::invalid_argument
//   invalid --device "TEXT": <rule>
// when the text does not parse or the mapping breaks a rule below.
device_mapping parse_device_mapping(std::string_view text);

// `m` with the defaults filled in: the container path is the host path, the
// permissions "rwm".
device_mapping with_defaults(device_mapping m);

// nullopt when `m` (defaults filled in or not) keeps the rules, else the
// broken one with the value it concerns:
//   host path "dev/null": must be an absolute path without ..
//   container path "/dev/../x": must be an absolute, normalised path without . or ..
//   permissions "rx": must be a combination of r, w and m, each at most once
std::optional<std::string> device_mapping_problem(const device_mapping& m);

// "rwm" and its non-empty sub-sequences in any order, each letter at most once.
bool valid_device_permissions(std::string_view perms);

}  // namespace berth
