// A real berthd for tests and benchmarks: started from this build tree on a
// fresh temp root and state (or given ones), with the real berth-shim; ready
// when its socket exists. The destructor stops it (SIGTERM) and deletes every
// shim left under its state dir, so a failing test leaks no shim or
// container.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/busybox_bundle.hpp"

namespace berth::test {

class berthd_process {
 public:
  struct options {
    std::vector<std::string> extra_args;  // e.g. {"--config", path}
    // A command berthd runs under, which execs it in place (same pid), e.g.
    // {"/usr/sbin/ip", "netns", "exec", "NAME"}.
    std::vector<std::string> wrapper{};
    std::chrono::seconds ready_timeout{30};
  };

  berthd_process();  // starts at once, default options
  explicit berthd_process(options opts);
  ~berthd_process();
  berthd_process(const berthd_process&) = delete;
  berthd_process& operator=(const berthd_process&) = delete;

  // Starts berthd (again) on the same root and state; throws
  // std::runtime_error with its log when it does not become ready.
  void start();
  // SIGTERM and wait; true when it exited 0.
  bool stop();
  // SIGKILL and reap: a crash.
  void kill9();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::string address() const { return "unix:" + socket(); }  // for clients
  std::string socket() const { return state() + "/berth.sock"; }
  std::string root() const { return dir_ / "root"; }
  std::string state() const { return dir_ / "state"; }
  std::string log_path() const { return dir_ / "berthd.log"; }
  std::string log() const;  // what berthd wrote to stderr, over all its runs

  // A busybox root filesystem for `--rootfs` (created once, shared).
  std::string rootfs();

  // Paths of the binaries of this build (BERTH_BUILD_DIR).
  static std::string berthd_binary();
  static std::string shim_binary();
  static std::string cli_binary();

 private:
  temp_dir dir_{"berthd-test"};
  options opts_;
  pid_t pid_ = -1;
  bool have_rootfs_ = false;
};

// Every berth-shim process whose command line mentions `state_dir`.
std::vector<pid_t> shims_under(const std::string& state_dir);
// shims_under() once it is empty, or after `timeout` (a shim told to shut
// down exits just after it answered).
std::vector<pid_t> shims_left(const std::string& state_dir,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace berth::test
