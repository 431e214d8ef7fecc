#include "shim/core/oom_watcher.hpp"

#include "shim/core/cgroup_stats.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <fstream>

namespace berth::shim {
namespace {

// The memory controller's directory for `pid`: v1 ("N:memory:/path") or v2 ("0::/path").
std::string memory_cgroup(pid_t pid, const std::string& root, bool& v2) {
  proc_cgroups groups = read_proc_cgroups(pid);
  if (auto it = groups.v1.find("memory"); it != groups.v1.end()) {
    v2 = false;
    return root + "/memory" + it->second;
  }
  std::string v2_path = groups.v2.value_or("");
  if (v2_path.empty()) return "";
  v2 = true;
  std::string dir = root + v2_path;
  if (access((dir + "/memory.events").c_str(), R_OK) != 0) dir = root + "/unified" + v2_path;
  return dir;
}

}  // namespace

oom_watcher::oom_watcher(kj::UnixEventPort& port, pid_t pid, std::function<void()> on_oom,
                         const std::string& cgroup_root)
    : on_oom_(std::move(on_oom)) {
  bool v2 = false;
  std::string dir = memory_cgroup(pid, cgroup_root, v2);
  if (dir.empty()) return;
  if (!v2) {
    fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    control_fd_ = open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
    int event_control = open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
    std::string line = std::to_string(fd_) + " " + std::to_string(control_fd_);
    bool ok = fd_ >= 0 && control_fd_ >= 0 && event_control >= 0 &&
              write(event_control, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (event_control >= 0) close(event_control);
    v1_control_ = dir + "/memory.oom_control";
    if (!ok) {
      spdlog::warn("cannot watch OOM events in {}", dir);
      if (fd_ >= 0) close(fd_);
      if (control_fd_ >= 0) close(control_fd_);
      fd_ = control_fd_ = -1;
      return;
    }
  } else {
    v2_events_ = dir + "/memory.events";
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0 || inotify_add_watch(fd_, v2_events_.c_str(), IN_MODIFY) < 0) {
      spdlog::warn("cannot watch OOM events in {}", v2_events_);
      if (fd_ >= 0) close(fd_);
      fd_ = -1;
      return;
    }
    v2_seen_ = read_v2_oom_kills();
  }
  observer_ = kj::heap<kj::UnixEventPort::FdObserver>(port, fd_,
                                                      kj::UnixEventPort::FdObserver::OBSERVE_READ);
  task_ = loop().eagerlyEvaluate([](kj::Exception&& e) {
    spdlog::warn("OOM watcher stopped: {}", e.getDescription().cStr());
  });
}

oom_watcher::~oom_watcher() {
  task_ = nullptr;
  observer_ = nullptr;
  if (fd_ >= 0) close(fd_);
  if (control_fd_ >= 0) close(control_fd_);
}

uint64_t oom_watcher::read_v2_oom_kills() const {
  std::ifstream f(v2_events_);
  std::string key;
  uint64_t value = 0;
  while (f >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

kj::Promise<void> oom_watcher::loop() {
  return observer_->whenBecomesReadable().then([this]() {
    char buf[4096];
    bool fired = false;
    // Edge-triggered: drain everything before waiting again.
    while (read(fd_, buf, sizeof buf) > 0) fired = true;
    if (fired) {
      if (!v1_control_.empty() && access(v1_control_.c_str(), F_OK) != 0) {
        // v1 also signals the eventfd when the cgroup is removed (runc
        // delete): that is the end of the task, not an OOM.
        return kj::Promise<void>(kj::READY_NOW);
      }
      if (v2_events_.empty()) {
        on_oom_();
      } else if (uint64_t kills = read_v2_oom_kills(); kills > v2_seen_) {
        v2_seen_ = kills;
        on_oom_();
      }
    }
    return loop();
  });
}

}  // namespace berth::shim
