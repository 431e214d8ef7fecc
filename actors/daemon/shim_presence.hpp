// Whether a task's shim still exists, told from what it leaves in its bundle:
// shim.pid names its process, shim.sock is where it listens. A shim that does
// not answer is only slow while both say it is there; it is gone when its
// process is, or when its socket refuses connections (nobody listens) or no
// longer exists. Only a gone shim may be cleaned up: cleaning up kills the
// container.
#pragma once

#include <cstdint>
#include <string>

namespace berth {

struct shim_presence {
  bool gone = false;
  std::string why;       // for a gone shim: "its process 1234 is gone"
  std::int32_t pid = 0;  // from shim.pid; 0 when unreadable
};

// A few non-blocking system calls on the state directory (a tmpfs): a read
// of a pid file, kill(pid, 0) and a non-blocking connect. `address` is the
// shim's "unix:/path"; empty for <bundle>/shim.sock.
shim_presence probe_shim(const std::string& bundle, const std::string& address);

}  // namespace berth
