#include "shim/core/kernel_host.hpp"

#include <signal.h>
#include <sys/mount.h>

#include <cerrno>

namespace berth::shim {

int kernel_mounter::mount(const std::string& source, const std::string& target,
                          const std::string& type, unsigned long flags, const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return errno;
  }
  return 0;
}

int kernel_mounter::unmount(const std::string& target) {
  return umount2(target.c_str(), MNT_DETACH) == 0 ? 0 : errno;
}

int kernel_signaller::signal(pid_t pid, int signal) {
  return ::kill(pid, signal) == 0 ? 0 : errno;
}

}  // namespace berth::shim
