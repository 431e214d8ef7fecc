// Tells the task when the kernel's OOM killer acts in its memory cgroup:
// on cgroup v1 through memory.oom_control registered on an eventfd via
// cgroup.event_control; on v2 by watching memory.events with inotify and
// comparing its oom_kill counter.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include <kj/async-unix.h>

namespace berth::shim {

class oom_watcher {
 public:
  // Starts watching the memory cgroup of `pid`. Never throws: a cgroup that
  // cannot be watched is logged and ignored (OOM events are informative).
  oom_watcher(kj::UnixEventPort& port, pid_t pid, std::function<void()> on_oom,
              const std::string& cgroup_root = "/sys/fs/cgroup");
  ~oom_watcher();
  oom_watcher(const oom_watcher&) = delete;
  oom_watcher& operator=(const oom_watcher&) = delete;

  bool watching() const { return fd_ >= 0; }

 private:
  kj::Promise<void> loop();
  uint64_t read_v2_oom_kills() const;

  int fd_ = -1;             // eventfd (v1) or inotify fd (v2)
  int control_fd_ = -1;     // memory.oom_control, kept open while registered (v1)
  std::string v1_control_;  // memory.oom_control's path (v1)
  std::string v2_events_;
  uint64_t v2_seen_ = 0;
  std::function<void()> on_oom_;
  kj::Own<kj::UnixEventPort::FdObserver> observer_;
  kj::Promise<void> task_ = nullptr;
};

}  // namespace berth::shim
