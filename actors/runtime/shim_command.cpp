#include "actors/runtime/shim_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace berth {

namespace {

struct spawn_setup {
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&files);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

command_output run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  command_output r;
  if (argv.empty()) {
    r.failure = "no command given";
    return r;
  }
  // O_CLOEXEC: a child another thread spawns at the same time must not hold
  // our pipes open, or we would wait for its exit instead of ours.
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    r.failure = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    r.failure = std::string("pipe: ") + std::strerror(errno);
    close(out[0]);
    close(out[1]);
    return r;
  }
  pid_t pid = -1;
  int rc;
  {
    spawn_setup s;
    posix_spawn_file_actions_addopen(&s.files, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&s.files, out[1], 1);
    posix_spawn_file_actions_adddup2(&s.files, err[1], 2);
    // CAF's and KJ's threads may block or ignore signals; the shim must start
    // from a clean slate (it outlives us and handles its own).
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &all);
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    rc = posix_spawnp(&pid, args[0], &s.files, &s.attr, args.data(), environ);
  }
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    r.failure = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_count = 2;
  char buf[4096];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(p.fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        close(p.fd);
        p.fd = -1;
        --open_count;
      } else {
        (&p == &fds[0] ? r.out : r.err).append(buf, static_cast<size_t>(got));
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (r.timed_out) {
    kill(pid, SIGKILL);
    r.exit_code = wait_for(pid);
    r.failure = argv[0] + " did not finish within " + std::to_string(timeout.count()) + "ms";
    return r;
  }
  r.exit_code = wait_for(pid);
  return r;
}

}  // namespace berth
