#include "berth_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace berth::test {
namespace {

using clock = std::chrono::steady_clock;

[[noreturn]] void exec_berth(const std::vector<std::string>& args, const std::string& address) {
  std::vector<std::string> full = {berth_binary()};
  if (!address.empty()) {
    full.push_back("--address");
    full.push_back(address);
  }
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Tests choose namespaces with -n; the environment must not leak in.
  unsetenv("BERTH_NAMESPACE");
  unsetenv("BERTH_ADDRESS");
  execv(argv[0], argv.data());
  _exit(127);
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int remaining_ms(clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string berth_binary() {
  const char* build = std::getenv("BERTH_BUILD_DIR");
  if (!build) throw std::runtime_error("BERTH_BUILD_DIR is not set (run through ctest)");
  return std::string(build) + "/cli/berth";
}

berth_result run_berth(const berth_call& call) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    exec_berth(call.args, call.address);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Writing stdin all at once could block against a full output pipe: feed
  // it from the same poll loop that drains the outputs.
  size_t written = 0;
  int in_fd = in[1];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (call.input.empty() && call.close_stdin) {
    close(in_fd);
    in_fd = -1;
  }
  berth_result result;
  auto until = clock::now() + call.deadline;
  bool signalled = false;
  int out_fd = out[0], err_fd = err[0];
  while (out_fd >= 0 || err_fd >= 0) {
    struct pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    int n = poll(fds, 3, remaining_ms(until));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else {
        close(fds[i].fd);
        (i == 0 ? out_fd : err_fd) = -1;
      }
    }
    if (!signalled && !call.signal_when.empty() &&
        result.out.find(call.signal_when) != std::string::npos) {
      kill(pid, call.signal);
      signalled = true;
    }
    if (in_fd >= 0 && fds[2].revents != 0) {
      ssize_t w = write(in_fd, call.input.data() + written, call.input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == call.input.size()) {
        if (call.close_stdin || w < 0) {
          close(in_fd);
          in_fd = -1;
        }
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = decode(status);
  return result;
}

berth_result run_berth_at(const std::string& address, std::vector<std::string> args) {
  return run_berth({std::move(args), address});
}

background_berth::background_berth(const std::string& address, std::vector<std::string> args) {
  int out[2];
  if (pipe2(out, O_CLOEXEC)) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    exec_berth(args, address);
  }
  close(out[1]);
  out_fd_ = out[0];
}

background_berth::~background_berth() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

bool background_berth::read_until(const std::string& text, std::chrono::milliseconds deadline) {
  auto until = clock::now() + deadline;
  while (out_.find(text) == std::string::npos) {
    if (out_fd_ < 0 || clock::now() >= until) return false;
    struct pollfd p = {out_fd_, POLLIN, 0};
    if (poll(&p, 1, remaining_ms(until)) <= 0) continue;
    char buf[4096];
    ssize_t got = read(out_fd_, buf, sizeof buf);
    if (got <= 0) {
      close(out_fd_);
      out_fd_ = -1;
    } else {
      out_.append(buf, static_cast<size_t>(got));
    }
  }
  return true;
}

void background_berth::signal(int signo) {
  if (pid_ > 0) kill(pid_, signo);
}

int background_berth::wait(std::chrono::milliseconds deadline) {
  read_until(std::string(1, '\0'), deadline);  // reads to EOF (no NUL ever comes)
  auto until = clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (clock::now() >= until) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(10000);
  }
  pid_ = -1;
  return decode(status);
}

berth_result run_berth_on_pty(const pty_session& s) {
  int master = -1;
  struct winsize size {};
  size.ws_col = 100;
  size.ws_row = 30;
  pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) throw std::runtime_error(std::string("forkpty: ") + std::strerror(errno));
  if (pid == 0) exec_berth(s.args, s.address);

  berth_result result;
  auto until = clock::now() + s.deadline;
  bool typed = false;
  auto typed_at = clock::now() + std::chrono::milliseconds(1500);
  for (;;) {
    struct pollfd p = {master, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      char buf[4096];
      ssize_t got = read(master, buf, sizeof buf);
      if (got <= 0) break;  // EIO: the slave side closed, berth is gone
      result.out.append(buf, static_cast<size_t>(got));
    }
    bool ready = s.wait_for.empty() ? clock::now() >= typed_at
                                    : result.out.find(s.wait_for) != std::string::npos;
    if (!typed && ready) {
      (void)!write(master, s.typed.data(), s.typed.size());
      typed = true;
    }
    if (clock::now() >= until) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  result.exit_code = decode(status);
  return result;
}

}  // namespace berth::test
