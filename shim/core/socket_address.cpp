#include "shim/core/socket_address.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace berth::shim {

std::string shim_socket_path(const std::string& state_dir, const std::string& short_dir) {
  std::string natural = state_dir + "/shim.sock";
  if (natural.size() <= kMaxSocketPath) return natural;
  // FNV-1a, 64 bits: collisions need ~4e9 live shims.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : state_dir) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return short_dir + "/" + hex + ".sock";
}

int connect_unix(const std::string& path) {
  if (path.size() > kMaxSocketPath) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace berth::shim
