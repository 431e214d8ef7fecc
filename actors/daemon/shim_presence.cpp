#include "actors/daemon/shim_presence.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace berth {
namespace {

std::int32_t read_pid(const std::string& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32] = {};
  auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  return static_cast<std::int32_t>(std::strtol(buf, nullptr, 10));
}

}  // namespace

shim_presence probe_shim(const std::string& bundle, const std::string& address) {
  shim_presence p;
  p.pid = read_pid(bundle + "/shim.pid");
  if (p.pid > 0 && ::kill(p.pid, 0) != 0 && errno == ESRCH) {
    p.gone = true;
    p.why = "its process " + std::to_string(p.pid) + " is gone";
    return p;
  }
  std::string path = address.rfind("unix:", 0) == 0 ? address.substr(5) : bundle + "/shim.sock";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return p;  // cannot tell: not gone
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return p;
  // A stopped shim's listening socket still accepts into its backlog: the
  // connect succeeds (or, backlog full, would block) and the shim is there.
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  if (err == ECONNREFUSED) {
    p.gone = true;
    p.why = "its socket " + path + " refuses connections";
  } else if (err == ENOENT) {
    p.gone = true;
    p.why = "its socket " + path + " is gone";
  }
  return p;
}

}  // namespace berth
