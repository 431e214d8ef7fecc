// Where a shim listens. The natural place is <state-dir>/shim.sock, but a
// unix socket path must fit sun_path (108 bytes with its NUL); a longer one
// is replaced by /run/berth-shim/<hash of the state dir>.sock, which is
// stable, so a second `berth-shim start` finds the same socket.
#pragma once

#include <string>

namespace berth::shim {

inline constexpr size_t kMaxSocketPath = 107;

std::string shim_socket_path(const std::string& state_dir,
                             const std::string& short_dir = "/run/berth-shim");

// Connects to a unix socket; returns the fd or -1 (errno set).
int connect_unix(const std::string& path);

}  // namespace berth::shim
