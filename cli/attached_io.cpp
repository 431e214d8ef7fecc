#include "cli/attached_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "cli/command_error.hpp"

namespace berth::cli {
namespace {

constexpr size_t kBuffer = 32 * 1024;

[[noreturn]] void fail(const std::string& what) {
  throw command_error("attach I/O", what + ": " + std::strerror(errno));
}

std::string temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

int open_fifo(const std::string& path, int flags) {
  if (mkfifo(path.c_str(), 0600) != 0) fail("cannot create FIFO " + path);
  int fd = open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail("cannot open FIFO " + path);
  return fd;
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Waits until `fd` is ready for `events` or `stop` is readable. True when
// `fd` is ready (or broken: the next read/write says how).
bool wait_ready(int fd, short events, int stop) {
  for (;;) {
    struct pollfd fds[2] = {{fd, events, 0}, {stop, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (fds[0].revents != 0) return true;
    if (fds[1].revents != 0) return false;
  }
}

// Writes everything to a blocking destination (our stdout/stderr). A
// destination that went away (a closed pipe) just loses the rest.
void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

attached_io::attached_io(bool terminal) : terminal_(terminal) {
  std::string pattern = temp_root() + "/berth-io-XXXXXX";
  if (!mkdtemp(pattern.data())) fail("cannot create a directory in " + temp_root());
  dir_ = pattern;  // mkdtemp makes it 0700: only we (and root) reach the FIFOs
  if (pipe2(stop_, O_CLOEXEC) != 0 || pipe2(stdin_closed_, O_CLOEXEC) != 0) {
    fail("cannot create a pipe");
  }
  stdin_fifo_ = open_fifo(dir_ + "/stdin", O_RDWR);
  stdout_fifo_ = open_fifo(dir_ + "/stdout", O_RDONLY);
  if (!terminal_) stderr_fifo_ = open_fifo(dir_ + "/stderr", O_RDONLY);
}

attached_io::~attached_io() {
  finish();
  close_fd(stdin_fifo_);
  close_fd(stdout_fifo_);
  close_fd(stderr_fifo_);
  for (int* p : {stop_, stdin_closed_}) {
    close_fd(p[0]);
    close_fd(p[1]);
  }
  for (const char* name : {"/stdin", "/stdout", "/stderr"}) unlink((dir_ + name).c_str());
  rmdir(dir_.c_str());
}

void attached_io::fill(wire::Stdio::Builder stdio) const {
  stdio.setStdin(dir_ + "/stdin");
  stdio.setStdout(dir_ + "/stdout");
  if (!terminal_) stdio.setStderr(dir_ + "/stderr");
  stdio.setTerminal(terminal_);
}

void attached_io::start_output() {
  out_thread_ = std::thread([this] { copy_output(stdout_fifo_, STDOUT_FILENO); });
  if (!terminal_) err_thread_ = std::thread([this] { copy_output(stderr_fifo_, STDERR_FILENO); });
}

void attached_io::start_input() {
  in_thread_ = std::thread([this] { copy_input(); });
}

void attached_io::copy_output(int fifo, int destination) {
  char buf[kBuffer];
  for (;;) {
    bool ready = wait_ready(fifo, POLLIN, stop_[0]);
    ssize_t n = read(fifo, buf, sizeof buf);
    if (n > 0) {
      write_all(destination, buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && ready) continue;
    // EOF (the shim closed its end), an error, or stop with nothing left.
    if (!ready || n == 0 || n < 0) break;
  }
  // Stopping: whatever is still buffered was written before the exit.
  for (;;) {
    ssize_t n = read(fifo, buf, sizeof buf);
    if (n <= 0) break;
    write_all(destination, buf, static_cast<size_t>(n));
  }
}

void attached_io::copy_input() {
  char buf[kBuffer];
  bool stopped = false;
  while (!stopped) {
    if (!wait_ready(STDIN_FILENO, POLLIN, stop_[0])) break;
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF: the container sees it when we close the FIFO
    const char* p = buf;
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      if (!wait_ready(stdin_fifo_, POLLOUT, stop_[0])) {
        stopped = true;
        break;
      }
      ssize_t w = write(stdin_fifo_, p, left);
      if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (w <= 0) {
        stopped = true;
        break;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  close_fd(stdin_fifo_);
  (void)!write(stdin_closed_[1], "x", 1);
}

void attached_io::finish() {
  if (finished_) return;
  finished_ = true;
  (void)!write(stop_[1], "x", 1);
  for (auto* t : {&out_thread_, &err_thread_, &in_thread_}) {
    if (t->joinable()) t->join();
  }
}

}  // namespace berth::cli
