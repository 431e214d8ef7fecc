// The console socket a runtime sends a terminal's pty master through
// (runc/crun --console-socket): the shim listens, the runtime connects and
// passes the fd with SCM_RIGHTS.
#pragma once

#include <string>

namespace berth::shim {

// Listens on a fresh unix socket at `path`; -1 with `error` set on failure.
int listen_unix(const std::string& path, std::string& error);

// Accepts the runtime's connection on the console socket and takes the pty
// master it sends. Call once the runtime has exited: the connection (if it
// came) is then queued and this never blocks. -1 with `error` set if none came.
int receive_console(int listen_fd, std::string& error);

}  // namespace berth::shim
