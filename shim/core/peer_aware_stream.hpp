// A connection to the shim that stops writing once the peer has hung up.
// When a client goes away, Cap'n Proto's RPC layer still writes an Abort
// message; the write fails with EPIPE and KJ throws. In a statically linked
// shim the first exception ever thrown makes libgcc sort every unwind entry
// into heap arrays it never frees (~110 KiB), so a daemon that disconnects
// would grow every idle shim's private memory. Writes to a peer that closed
// its end and hung up are dropped instead; a half-closed peer still gets
// its replies.
#pragma once

#include <poll.h>

#include <kj/async-io.h>

namespace berth::shim {

class peer_aware_stream final : public kj::AsyncIoStream {
 public:
  explicit peer_aware_stream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t min, size_t max) override {
    return inner_->tryRead(buffer, min, max).then([this, min](size_t n) {
      if (n < min) peer_closed_ = true;
      return n;
    });
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    if (peer_gone()) return kj::READY_NOW;
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    if (peer_gone()) return kj::READY_NOW;
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override {
    if (!peer_closed_) inner_->shutdownWrite();
  }
  void abortRead() override { inner_->abortRead(); }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }
  void getsockopt(int level, int option, void* value, uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, uint* length) override {
    inner_->getpeername(addr, length);
  }

 private:
  // The peer closed its end and the socket hung up: nobody can read what we
  // write, and writing would fail with EPIPE, which KJ turns into a thrown
  // exception. A half-closed peer (shutdown(SHUT_WR)) still gets its replies.
  bool peer_gone() const {
    if (!peer_closed_) return false;
    KJ_IF_MAYBE (fd, inner_->getFd()) {
      pollfd p{*fd, POLLOUT, 0};
      return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
    }
    return false;
  }
  kj::Own<kj::AsyncIoStream> inner_;
  bool peer_closed_ = false;
};

}  // namespace berth::shim
