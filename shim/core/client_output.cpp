#include "shim/core/client_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <kj/debug.h>

#include "shim/core/client_path.hpp"

namespace berth::shim {
namespace {

// A regular file cannot be watched by epoll, and never blocks for long:
// write it synchronously behind the stream interface.
class file_output final : public kj::AsyncOutputStream {
 public:
  explicit file_output(int fd) : fd_(fd) {}
  ~file_output() noexcept(false) { close(fd_); }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    auto p = static_cast<const char*>(buffer);
    while (size > 0) {
      ssize_t n = ::write(fd_, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                             kj::str("write failed: ", strerror(errno)));
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
    return kj::READY_NOW;
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    for (auto piece : pieces) {
      auto r = write(piece.begin(), piece.size());
      (void)r;
    }
    return kj::READY_NOW;
  }
  kj::Promise<void> whenWriteDisconnected() override { return kj::NEVER_DONE; }

 private:
  int fd_;
};

// A FIFO whose writes give up: at once when the reader is gone (EPIPE, which
// KJ may throw from inside write() itself, hence evalNow), and after
// `stall_limit` when the reader takes nothing.
class fifo_output final : public kj::AsyncOutputStream {
 public:
  fifo_output(kj::Own<kj::AsyncOutputStream> fifo, kj::Timer& timer, kj::Duration stall_limit)
      : fifo_(kj::mv(fifo)), timer_(timer), stall_limit_(stall_limit) {}

  kj::Promise<void> write(const void* buffer, size_t size) override {
    return bounded(kj::evalNow([&]() { return fifo_->write(buffer, size); }));
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return bounded(kj::evalNow([&]() { return fifo_->write(pieces); }));
  }
  kj::Promise<void> whenWriteDisconnected() override { return fifo_->whenWriteDisconnected(); }

 private:
  // process_io writes at most one small buffer at a time, so "this write
  // did not finish within the limit" means "the reader took nothing".
  kj::Promise<void> bounded(kj::Promise<void> write) {
    auto limit = stall_limit_;
    auto stalled = timer_.afterDelay(limit).then([limit]() -> kj::Promise<void> {
      return KJ_EXCEPTION(DISCONNECTED, "the reader took nothing", limit);
    });
    return write.exclusiveJoin(kj::mv(stalled));
  }

  kj::Own<kj::AsyncOutputStream> fifo_;
  kj::Timer& timer_;
  kj::Duration stall_limit_;
};

}  // namespace

kj::Own<kj::AsyncOutputStream> open_client_output(kj::LowLevelAsyncIoProvider& io,
                                                  const char* stream, const std::string& path,
                                                  kj::Duration stall_limit) {
  auto file = open_client_path(stream, path, client_path_use::write);
  if (!file.fifo) return kj::heap<file_output>(file.fd);
  auto fifo = io.wrapOutputFd(file.fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                           kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                                           kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
  return kj::heap<fifo_output>(kj::mv(fifo), io.getTimer(), stall_limit);
}

}  // namespace berth::shim
