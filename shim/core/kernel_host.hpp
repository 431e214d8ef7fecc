// The real mounter and signaller: mount(2), umount2(2) and kill(2), with
// nothing added. What to mount and whom to signal is the task's logic.
#pragma once

#include "shim/core/task_host.hpp"

namespace berth::shim {

class kernel_mounter final : public mounter {
 public:
  int mount(const std::string& source, const std::string& target, const std::string& type,
            unsigned long flags, const std::string& data) override;
  int unmount(const std::string& target) override;
};

class kernel_signaller final : public signaller {
 public:
  int signal(pid_t pid, int signal) override;
};

}  // namespace berth::shim
