// How much task log a container may leave on disk: files of at most
// `max_size` bytes, at most `max_files` of them (the current one included),
// as kubelet's containerLogMaxSize and containerLogMaxFiles. The CLI, berthd
// (config.toml, the API) and the shim all read sizes and check limits here,
// so "10m" means the same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

struct log_limits {
  std::uint64_t max_size = 10ull << 20;  // 10 MiB, kubelet's default
  std::uint32_t max_files = 2;           // the current file and one rotated
};

// A rotated file smaller than this would hold almost nothing but timestamps.
inline constexpr std::uint64_t kMinLogMaxSize = 4096;
inline constexpr std::uint32_t kMaxLogMaxFiles = 100;

// A size as docker reads one: a number with an optional unit b, k, m, g, t
// (powers of 1024, case-insensitive, an optional trailing "b" or "ib":
// "10m", "10MB", "10MiB", "1g", "4096"). Throws std::invalid_argument naming
// `what` (e.g. "--log-max-size") and the text when it is not a positive
// size in bytes.
std::uint64_t parse_log_size(std::string_view text, std::string_view what);

// Nullopt when `size` and `files` are usable limits, else the reason, naming
// `size_what` or `files_what` (the flag or config key the user wrote).
std::optional<std::string> check_log_limits(std::int64_t size, std::int64_t files,
                                            std::string_view size_what,
                                            std::string_view files_what);

// The time of a log record, "2026-11-29T05:28:40.123456789Z" (or with an
// offset, "+01:00"), as ns since the epoch; nullopt when it is not such a time.
std::optional<std::int64_t> parse_rfc3339_ns(std::string_view text);

}  // namespace berth
