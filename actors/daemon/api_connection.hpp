// What one API client connection may ask of berthd: the Cap'n Proto reader
// limits on its messages, a bound on its calls in flight, and the request
// validation (api_validation.hpp) that every call passes before it is
// dispatched. A call beyond the bound is refused at once with `unavailable`;
// the connection stays usable and other connections never notice.
//
// The bootstrap Berth capability of a connection, and every Task capability
// handed out on it, is wrapped in a gate (a generic Capability::Server) that
// shares the connection's count; the gate forwards an accepted call to the
// real service with a tail call, so pipelining works as before.
#pragma once

#include <capnp/capability.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize-async.h>
#include <kj/refcount.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace berth {

// ---- limits of one connection (docs/architecture.md, "Validation at the API boundary") ----
// Words a reader may traverse in one incoming message (16 MiB); a larger
// message is refused by Cap'n Proto when it is read and that connection is
// dropped. Four times api_validation::kMaxRequestText: the validator and the
// copy into the dispatched call each read a request once.
inline constexpr std::uint64_t kApiTraversalLimitWords = 2 * 1024 * 1024;
// Pointer nesting in one message; berth's deepest request (a mount option of
// createContainer, inside the RPC envelope) is about 10 levels.
inline constexpr int kApiNestingLimit = 24;
// Calls one connection may have unanswered at once (waits included).
inline constexpr std::size_t kMaxCallsInFlight = 256;

capnp::ReaderOptions api_reader_options();

// The message stream of one client: Cap'n Proto's own over the socket, plus
// a warning in berthd's log when a message cannot be read (past the reader
// limits, or malformed). The RPC system then drops the connection, and the
// client may only see the socket close while it is still writing.
class logged_message_stream final : public capnp::MessageStream {
 public:
  logged_message_stream(kj::AsyncIoStream& stream, std::string who)
      : inner_(stream), who_(std::move(who)) {}

  using capnp::MessageStream::tryReadMessage;
  using capnp::MessageStream::writeMessage;
  using capnp::MessageStream::writeMessages;

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratch) override;
  kj::Promise<void> writeMessage(
      kj::ArrayPtr<const int> fds,
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override {
    return inner_.writeMessage(fds, segments);
  }
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override {
    return inner_.writeMessages(messages);
  }
  kj::Maybe<int> getSendBufferSize() override { return inner_.getSendBufferSize(); }
  kj::Promise<void> end() override { return inner_.end(); }

 private:
  capnp::AsyncIoMessageStream inner_;
  std::string who_;
};

// The shared state of one connection's gates.
class call_gate final : public kj::Refcounted {
 public:
  explicit call_gate(std::size_t limit = kMaxCallsInFlight) : limit_(limit) {}

  // `inner` (a capability of interface `schema`) as this connection sees it.
  capnp::Capability::Client guard(capnp::Capability::Client inner, capnp::InterfaceSchema schema);

  std::size_t in_flight() const { return in_flight_; }
  std::size_t limit() const { return limit_; }

 private:
  friend class gated_capability;
  friend class call_slot;
  std::size_t limit_;
  std::size_t in_flight_ = 0;
};

}  // namespace berth
