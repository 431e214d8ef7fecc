#include "shim/core/process_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "shim/core/client_output.hpp"
#include "shim/core/client_path.hpp"

namespace berth::shim {
namespace {

constexpr size_t kCopyBuffer = 4096;  // small: one shim per container, memory adds up

void check_absolute(const char* stream, const std::string& path) {
  if (!path.empty() && path.front() != '/') {
    throw std::runtime_error(std::string("invalid ") + stream + " path \"" + path +
                             "\": must be absolute");
  }
}

void check_absolute(const stdio_paths& paths) {
  check_absolute("stdin", paths.in);
  check_absolute("stdout", paths.out);
  check_absolute("stderr", paths.err);
}

void make_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot create pipe: ") + std::strerror(errno));
  }
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

process_io::process_io(kj::LowLevelAsyncIoProvider& io, kj::UnixEventPort& port, stdio_paths paths,
                       task_log* log)
    : io_(io), port_(port), paths_(std::move(paths)), log_(log) {
  check_absolute(paths_);
  open_destinations();
  if (paths_.terminal) return;  // runc hands the process the pty; our stdio stays /dev/null

  int out[2], err[2];
  make_pipe(out);
  child_out_ = out[1];
  out_pipe_ = io_.wrapInputFd(out[0], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                          kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
  make_pipe(err);
  child_err_ = err[1];
  err_pipe_ = io_.wrapInputFd(err[0], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                          kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);

  if (paths_.in.empty() && paths_.open_stdin) {
    int in[2];
    make_pipe(in);
    child_in_ = in[0];
    stdin_pipe_ = io_.wrapOutputFd(in[1], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                              kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
  } else if (!paths_.in.empty()) {
    if (stdin_fifo_fd_ >= 0) {
      int in[2];
      make_pipe(in);
      child_in_ = in[0];
      stdin_pipe_ = io_.wrapOutputFd(in[1], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                                kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
    }
    // A regular file: open_destinations made it the child's stdin already.
  }
}

void process_io::open_destinations() {
  if (!paths_.out.empty()) {
    out_dest_.stream = open_client_output(io_, "stdout", paths_.out);
  }
  if (!paths_.err.empty() && !paths_.terminal) {
    err_dest_.stream = open_client_output(io_, "stderr", paths_.err);
  }
  if (!paths_.in.empty()) {
    // A FIFO read-only and non-blocking: Linux reports no hang-up on a FIFO
    // whose writer never came, so we wait for real data or a real close.
    auto in = open_client_path("stdin", paths_.in, client_path_use::read);
    if (in.fifo)
      stdin_fifo_fd_ = in.fd;
    else if (paths_.terminal)
      close(in.fd);  // a terminal's input comes from a FIFO only, as before
    else
      child_in_ = in.fd;  // a regular file is the process's stdin as it is
  }
}

process_io::~process_io() {
  canceler_.cancel("process io closed");
  close_fd(child_in_);
  close_fd(child_out_);
  close_fd(child_err_);
  close_fd(stdin_fifo_fd_);
}

void process_io::abandon() {
  close_fd(child_in_);
  close_fd(child_out_);
  close_fd(child_err_);
  drained_ = kj::Promise<void>(kj::READY_NOW).fork();
}

void process_io::start_copying() {
  close_fd(child_in_);
  close_fd(child_out_);
  close_fd(child_err_);
  if (paths_.terminal) return;  // copying starts when the console arrives
  auto both = kj::joinPromises(kj::arr(copy_output(*out_pipe_, "stdout", out_dest_),
                                       copy_output(*err_pipe_, "stderr", err_dest_)));
  drained_ = canceler_.wrap(kj::mv(both)).fork();
  if (stdin_pipe_ && stdin_fifo_fd_ >= 0) {
    stdin_task_ = canceler_.wrap(copy_stdin_fifo()).eagerlyEvaluate(nullptr);
  }
}

kj::Promise<void> process_io::copy_output(kj::AsyncInputStream& from, const char* stream,
                                          output_target& to) {
  auto buffer = kj::heapArray<kj::byte>(kCopyBuffer);
  // evalNow: a read that fails at once (EIO from a pty master whose slave
  // closed) throws instead of rejecting; it must reach the handler below too.
  auto read = kj::evalNow([&]() { return from.tryRead(buffer.begin(), 1, buffer.size()); });
  return read.then(
      [this, &from, stream, &to, buffer = kj::mv(buffer)](size_t n) mutable -> kj::Promise<void> {
        if (n == 0) return kj::READY_NOW;
        if (log_) log_->write(stream, {reinterpret_cast<char*>(buffer.begin()), n});
        if (!to.stream) return copy_output(from, stream, to);
        auto write = to.pending.wrap(to.stream->write(buffer.begin(), n));
        return write.attach(kj::mv(buffer))
            .then([this, &from, stream, &to]() { return copy_output(from, stream, to); },
                  [this, &from, stream, &to, generation = to.generation](kj::Exception&& e) {
                    // The client is gone or took nothing for too long
                    // (client_output.hpp): stop forwarding to it and go on
                    // reading, so the container never waits on it; the task
                    // log keeps everything. Attach cancelled the write: the
                    // new destination stays.
                    if (to.generation == generation) {
                      spdlog::warn("{} no longer forwarded to its client: {}", stream,
                                   e.getDescription().cStr());
                      to.stream = nullptr;
                    }
                    return copy_output(from, stream, to);
                  });
      },
      [](kj::Exception&&) -> kj::Promise<void> {
        // EIO from a pty master whose slave closed is its EOF.
        return kj::READY_NOW;
      });
}

kj::Promise<void> process_io::copy_stdin_fifo() {
  auto observer = kj::heap<kj::UnixEventPort::FdObserver>(
      port_, stdin_fifo_fd_, kj::UnixEventPort::FdObserver::OBSERVE_READ);
  auto ready = observer->whenBecomesReadable();
  return ready.attach(kj::mv(observer)).then([this]() -> kj::Promise<void> {
    // Hand the fd to a KJ stream now that a writer exists (EOF is now real).
    int fd = stdin_fifo_fd_;
    stdin_fifo_fd_ = -1;
    pump_fd_ = fd;
    auto in = io_.wrapInputFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                      kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                                      kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
    kj::AsyncOutputStream& to =
        console_ ? static_cast<kj::AsyncOutputStream&>(*console_) : *stdin_pipe_;
    auto pump = in->pumpTo(to);
    return pump.attach(kj::mv(in))
        .then([this](uint64_t) { pump_finished(); }, [this](kj::Exception&&) { pump_finished(); });
  });
}

// Runs inside the pump's own promise, so it must not reset stdin_task_.
void process_io::pump_finished() {
  pump_fd_ = -1;
  if (console_) {
    if (close_after_pump_) send_eot();
    return;
  }
  // EOF from the writer: the process sees EOF, unless the writer was an
  // attached client, which may come and go.
  if (close_after_pump_ || !stdin_attached_) stdin_pipe_ = nullptr;
}

void process_io::send_eot() {
  // A terminal has no separate stdin to close: send EOF (^D) as a person would.
  static const char eot = 4;
  ssize_t ignored = write(console_fd_, &eot, 1);
  (void)ignored;
}

void process_io::attach_console(int master_fd) {
  console_fd_ = master_fd;
  console_ = io_.wrapSocketFd(master_fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  drained_ = canceler_.wrap(copy_output(*console_, "stdout", out_dest_)).fork();
  if (stdin_fifo_fd_ >= 0) {
    stdin_task_ = canceler_.wrap(copy_stdin_fifo()).eagerlyEvaluate(nullptr);
  }
}

bool process_io::resize(unsigned width, unsigned height) {
  if (console_fd_ < 0) return false;
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  return ioctl(console_fd_, TIOCSWINSZ, &ws) == 0;
}

void process_io::close_stdin() {
  if (pump_fd_ >= 0) {
    // A client closes its FIFO before it sends closeIo: when the writer is
    // gone, what it wrote is still in the FIFO and goes in before the EOF.
    struct pollfd p = {pump_fd_, POLLIN, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) {
      close_after_pump_ = true;
      return;
    }
  }
  pump_fd_ = -1;
  stdin_task_ = nullptr;
  stdin_pipe_ = nullptr;
  close_fd(stdin_fifo_fd_);
  close_fd(child_in_);
  if (console_fd_ >= 0) send_eot();
}

void process_io::replace(output_target& target, kj::Own<kj::AsyncOutputStream> stream) {
  ++target.generation;
  target.pending.cancel("the output was attached elsewhere");
  target.stream = kj::mv(stream);
}

bool process_io::attach(const stdio_paths& to) {
  check_absolute(to);
  // Open everything before changing anything, so a bad path leaves the old wiring.
  kj::Own<kj::AsyncOutputStream> out, err;
  if (!to.out.empty()) out = open_client_output(io_, "stdout", to.out);
  if (!to.err.empty() && !paths_.terminal) err = open_client_output(io_, "stderr", to.err);
  bool stdin_open = console_ || stdin_pipe_ || paths_.terminal;
  int in = -1;
  if (!to.in.empty() && stdin_open) {
    auto file = open_client_path("stdin", to.in, client_path_use::read);
    if (!file.fifo) {
      close(file.fd);
      throw std::runtime_error("invalid stdin path \"" + to.in + "\": must be a FIFO");
    }
    in = file.fd;
  }

  if (out) replace(out_dest_, kj::mv(out));
  if (err) replace(err_dest_, kj::mv(err));
  if (in >= 0) {
    stdin_task_ = nullptr;  // cancels the pump from the previous writer
    pump_fd_ = -1;
    close_fd(stdin_fifo_fd_);
    stdin_fifo_fd_ = in;
    stdin_attached_ = true;
    // With a terminal whose master has not arrived yet, attach_console starts the pump.
    if (console_ || stdin_pipe_) {
      stdin_task_ = canceler_.wrap(copy_stdin_fifo()).eagerlyEvaluate(nullptr);
    }
  }
  return stdin_open;
}

kj::Promise<void> process_io::drained() {
  KJ_IF_MAYBE (d, drained_) {
    return d->addBranch();
  }
  return kj::READY_NOW;
}

}  // namespace berth::shim
