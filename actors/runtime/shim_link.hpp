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
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/shim_messages.hpp"
#include "actors/runtime/shim_ops.hpp"
#include "schema/shim.capnp.h"

namespace berth {

using link_done_atom = caf::atom_constant<caf::atom("linkDone")>;
using link_event_atom = caf::atom_constant<caf::atom("linkEvent")>;
using link_lost_atom = caf::atom_constant<caf::atom("linkLost")>;

class event_hub;

class shim_link final : public io_thread::resource,
                        private shim_call_context,
                        private kj::TaskSet::ErrorHandler {
 public:
  struct settings {
    std::string ns, id, address;
    kj::Duration deadline;          // deadline_class::normal
    kj::Duration command_deadline;  // deadline_class::command (at least `deadline`)
  };

  shim_link(kj::AsyncIoContext& io, caf::weak_actor_ptr proxy, settings s);
  // Cancels what is in flight and answers those callers `unavailable`.
  ~shim_link() noexcept(false) override;

  // Sends one operation of shim_ops.hpp under its deadline and answers
  // call `id` with link_done. shim_connect (re)connects first.
  template <class Msg>
  void call(std::uint64_t id, Msg x) {
    using op = shim_op<Msg>;
    if constexpr (std::is_same_v<Msg, shim_connect>) begin_connect();
    run(id, op::name, deadline_of(op::deadline),
        [this, x = std::move(x)](Task::Client& t) { return send_op(t, x, *this); });
  }

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
  kj::Maybe<kj::Duration> deadline_of(deadline_class c) const;
  void begin_connect();
  kj::Promise<void> open_connection();
  void lost(std::uint64_t generation, std::string reason);
  void reply(std::uint64_t call, caf::message answer);
  caf::message failure(const char* op, const kj::Exception& e) const;
  std::string who() const;
  const std::string& task_id() const override;
  wire::EventSink::Client new_event_sink() override;
  void taskFailed(kj::Exception&& e) override;

  kj::AsyncIoContext& io_;
  caf::weak_actor_ptr proxy_;
  settings settings_;
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
