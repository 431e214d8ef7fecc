// The shim's reaper: the one place that calls waitpid. SIGCHLD is blocked
// and read from a signalfd, so no exit is lost to a signal handler race, and
// every reaped child is routed by pid:
//  - children the shim spawned itself (runc/crun invocations) resolve the
//    promise returned by `watch`;
//  - every other pid (container processes reparented to us, since the shim
//    is a child subreaper) goes to the exit listener. An exit nobody has
//    claimed yet is kept, so a process that dies before its pid is known
//    (read from runc's pid file) still reports its status.
// KJ's UnixEventPort::onChildExit is deliberately not used: it reaps with
// waitpid(-1) and drops pids it was not told about.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>

#include <kj/async-unix.h>

namespace berth::shim {

class reaper {
 public:
  // Blocks SIGCHLD in the calling thread; call before any child is spawned
  // and before other threads exist.
  static void block_sigchld();

  explicit reaper(kj::UnixEventPort& port);
  ~reaper();
  reaper(const reaper&) = delete;
  reaper& operator=(const reaper&) = delete;

  // Resolves with the raw wait status when `pid` (a child we spawned) exits.
  // Call before returning to the event loop after spawning, so it cannot be missed.
  kj::Promise<int> watch(pid_t pid);

  // Receives the raw wait status of every reaped pid not being watched.
  void on_exit(std::function<void(pid_t, int)> listener) { listener_ = std::move(listener); }

  // Runs the reaping loop until the returned promise is dropped.
  kj::Promise<void> run();

  // Reaps whatever has exited right now (used before the loop starts and by tests).
  void reap_now();

 private:
  int signal_fd_ = -1;
  kj::Own<kj::UnixEventPort::FdObserver> observer_;
  std::map<pid_t, kj::Own<kj::PromiseFulfiller<int>>> watched_;
  std::map<pid_t, int> early_;  // watched pids that exited before watch() was called
  std::function<void(pid_t, int)> listener_;
};

// Exit code as a shell reports it: the code, or 128 + signal.
int exit_code_of(int wait_status);
int signal_of(int wait_status);

}  // namespace berth::shim
