#include "schema/socket_address.hpp"

namespace berth {

std::string unix_socket_address(const std::string& address) {
  std::string path = address;
  if (path.rfind("unix://", 0) == 0)
    path = path.substr(7);
  else if (path.rfind("unix:", 0) == 0)
    path = path.substr(5);
  if (path.size() < 2 || path.front() != '/') return {};
  return "unix:" + path;
}

}  // namespace berth
