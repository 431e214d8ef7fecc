// The KJ side of one shim_proxy: its Cap'n Proto connection to one shim.
// Internal to actors/runtime. Lives in the io_thread's registry under the
// proxy's key and is created, used and destroyed on the KJ thread only.
//
// It never touches the proxy's state; every outcome goes back to the proxy as
// a message:
//   (link_done_atom, call id, caf::message answer)  answer: the reply value(s),
//                                                   or one berth caf::error
//   (link_event_atom, token, shim_event)            ack with ack_event(token)
//   (link_lost_atom, std::string reason)            the connection dropped
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <caf/actor_control_block.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/shim_messages.hpp"
#include "schema/shim.capnp.h"

namespace berth {

using link_done_atom = caf::atom_constant<caf::atom("linkDone")>;
using link_event_atom = caf::atom_constant<caf::atom("linkEvent")>;
using link_lost_atom = caf::atom_constant<caf::atom("linkLost")>;

class event_hub;

class shim_link final : public io_thread::resource, private kj::TaskSet::ErrorHandler {
 public:
  struct names {
    std::string ns, id, address;
  };

  shim_link(kj::AsyncIoContext& io, caf::weak_actor_ptr proxy, names n);
  // Cancels what is in flight and answers those callers `unavailable`.
  ~shim_link() noexcept(false) override;

  // Each answers `call` with link_done. `d` is the call's deadline.
  void connect(std::uint64_t call, kj::Duration d);
  void create(std::uint64_t call, shim_create req, kj::Duration d);
  void start(std::uint64_t call, shim_start req, kj::Duration d);
  void state(std::uint64_t call, shim_state req, kj::Duration d);
  void pids(std::uint64_t call, kj::Duration d);
  void pause(std::uint64_t call, kj::Duration d);
  void resume(std::uint64_t call, kj::Duration d);
  void kill(std::uint64_t call, shim_kill req, kj::Duration d);
  void exec(std::uint64_t call, shim_exec req, kj::Duration d);
  void wait(std::uint64_t call, shim_wait req);  // no deadline
  void remove(std::uint64_t call, shim_delete req, kj::Duration d);
  void close_io(std::uint64_t call, shim_close_io req, kj::Duration d);
  void attach(std::uint64_t call, shim_attach req, kj::Duration d);
  void resize_pty(std::uint64_t call, shim_resize_pty req, kj::Duration d);
  void update(std::uint64_t call, shim_update req, kj::Duration d);
  void stats(std::uint64_t call, kj::Duration d);
  void checkpoint(std::uint64_t call, shim_checkpoint req, kj::Duration d);
  void shutdown(std::uint64_t call, shim_shutdown req, kj::Duration d);
  void subscribe(std::uint64_t call, shim_subscribe req, kj::Duration d);

  // The proxy's answer to link_event: true once the event is in the
  // subscriber's mailbox (the shim's publish call then returns), false when
  // there is no subscriber (publish fails; the shim keeps the event).
  void ack_event(std::uint64_t token, bool handed);

 private:
  using Task = wire::shim::Task;
  using sender = kj::Function<kj::Promise<caf::message>(Task::Client&)>;

  // One socket and its RPC system. Replaced by a reconnect; an old one is
  // kept until the link dies, since promises of its calls may still be
  // unwinding.
  struct connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> rpc;
    Task::Client task = nullptr;
  };

  // Runs `send` once connected, under deadline `d` (none for wait).
  void run(std::uint64_t call, const char* op, kj::Maybe<kj::Duration> d, sender send);
  kj::Promise<void> open_connection();
  void lost(std::uint64_t generation, std::string reason);
  void reply(std::uint64_t call, caf::message answer);
  caf::message failure(const char* op, const kj::Exception& e) const;
  std::string who() const;
  void taskFailed(kj::Exception&& e) override;

  kj::AsyncIoContext& io_;
  caf::weak_actor_ptr proxy_;
  names names_;
  kj::Own<event_hub> events_;
  kj::Vector<kj::Own<connection>> connections_;  // the last one is current
  std::uint64_t generation_ = 0;                 // counts connections; a stale loss is ignored
  bool connected_ = false;
  std::string lost_reason_;  // why there is no connection (lost, or the connect failed)
  // The connection being opened; callers wait on a branch while
  // connect_pending_. Replaced, never cleared, by the next attempt.
  kj::Maybe<kj::ForkedPromise<void>> connecting_;
  bool connect_pending_ = false;
  std::unordered_set<std::uint64_t> pending_;
  // Last: destroyed first, cancelling every call before its connection goes.
  kj::TaskSet tasks_;
};

}  // namespace berth
