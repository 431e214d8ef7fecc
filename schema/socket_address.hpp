// The forms people give a local API socket in, as containerd and ctr take
// them: "/run/berth/berth.sock", "unix:/run/berth/berth.sock" and
// "unix:///run/berth/berth.sock". berthd and the CLI accept the same three.
#pragma once

#include <string>

namespace berth {

// "unix:/ABSOLUTE/PATH" for any of the three forms; empty when `address` is
// none of them (a relative path, another scheme, "unix:" with nothing after).
std::string unix_socket_address(const std::string& address);

}  // namespace berth
