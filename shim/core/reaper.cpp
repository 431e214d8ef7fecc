#include "shim/core/reaper.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace berth::shim {

void reaper::block_sigchld() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot block SIGCHLD");
  }
}

reaper::reaper(kj::UnixEventPort& port) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot create signalfd for SIGCHLD");
  }
  observer_ = kj::heap<kj::UnixEventPort::FdObserver>(port, signal_fd_,
                                                      kj::UnixEventPort::FdObserver::OBSERVE_READ);
}

reaper::~reaper() {
  observer_ = nullptr;
  if (signal_fd_ >= 0) close(signal_fd_);
}

kj::Promise<int> reaper::watch(pid_t pid) {
  if (auto it = early_.find(pid); it != early_.end()) {
    int status = it->second;
    early_.erase(it);
    return status;
  }
  auto paf = kj::newPromiseAndFulfiller<int>();
  watched_[pid] = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

void reaper::reap_now() {
  // Drain the signalfd first: SIGCHLD coalesces, so one signal may stand for
  // many exits and the waitpid loop below is what really counts.
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;  // 0: children left but none exited; -1/ECHILD: no children
    if (auto it = watched_.find(pid); it != watched_.end()) {
      auto fulfiller = kj::mv(it->second);
      watched_.erase(it);
      fulfiller->fulfill(kj::cp(status));
    } else if (listener_) {
      listener_(pid, status);
    } else {
      early_[pid] = status;
    }
  }
}

kj::Promise<void> reaper::run() {
  reap_now();
  return observer_->whenBecomesReadable().then([this]() { return run(); });
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

int signal_of(int wait_status) {
  return WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
}

}  // namespace berth::shim
