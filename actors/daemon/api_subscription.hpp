// The API's event subscriptions, between the KJ thread and the actors: the
// pump that calls a client's EventSink in order, the forwarder actor that
// receives events from the events actor (and resubscribes when a restart
// replaced it), and the Subscription capability whose end ends both.
// Internal to the API server.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <memory>

#include "actors/daemon/api_convert.hpp"
#include "actors/daemon/berth_handles.hpp"
#include "actors/daemon/events.hpp"
#include "actors/runtime/io_thread.hpp"
#include "schema/api.capnp.h"

namespace berth {

// The KJ side of one subscription: its sink, and the chain of publish calls
// that keeps events in order. Each return is acknowledged (through the
// subscription's forwarder) to the events actor, which bounds what a
// subscriber may leave unreturned: the chain holds at most that many events.
class event_pump final : public io_thread::resource {
 public:
  event_pump(wire::EventSink::Client sink, caf::actor forwarder)
      : sink_(kj::mv(sink)), forwarder_(std::move(forwarder)) {}
  ~event_pump() noexcept(false) override {
    caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
  }

  // False once the subscription is over (the pump may then be dropped).
  bool deliver(const berth_event& e, kj::Timer& timer) {
    if (broken_) return false;
    auto req = sink_.publishRequest();
    api_convert::fill(req.initEvent(), e);
    if (e.kind == event_kind::subscriber_too_slow) {
      // Sent beside the chain, not after it: the client has not returned the
      // events before it, and may never. Bounded, so a client that never
      // reads costs berthd nothing after the deadline.
      req.send()
          .ignoreResult()
          .exclusiveJoin(timer.afterDelay(30 * kj::SECONDS))
          .detach([](kj::Exception&&) {});
      broken_ = true;
      return false;
    }
    chain_ = chain_.then([req = kj::mv(req)]() mutable { return req.send().ignoreResult(); })
                 .then([forwarder = forwarder_, seq = e.sequence] {
                   caf::anon_send(forwarder, event_ack_atom::value, seq);
                 })
                 .catch_([this](kj::Exception&& ex) {
                   // The client went away: end the subscription.
                   broken_ = true;
                   caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
                 })
                 .eagerlyEvaluate(nullptr);
    return true;
  }

 private:
  wire::EventSink::Client sink_;
  caf::actor forwarder_;
  bool broken_ = false;
  kj::Promise<void> chain_ = kj::READY_NOW;
};

struct event_forwarder_state {
  std::shared_ptr<io_thread> io;
  std::uint64_t key = 0;  // the pump's key
  std::shared_ptr<const berth_handles> actors;
  event_filter filter;
  events_actor events;     // the events actor it is subscribed to
  caf::actor_addr first;   // the one it was subscribed to by the client's call
  caf::actor_addr ended;   // the last one that ended under it
  std::uint64_t last = 0;  // the newest event number it has forwarded
  int attempts = 0;        // resubscriptions tried since the events actor ended
  static inline const char* name = "berth.event_forwarder";
};

// One subscription's actor: receives events from the events actor and posts
// them to its pump, and relays the pump's acknowledgements. When the events
// actor fails, berthd's supervisor starts a new one; the forwarder then
// subscribes to it from the last number it forwarded, so the client sees
// every event once and in order across the restart (the numbers are
// durable), as if nothing had happened.
caf::behavior event_forwarder(caf::stateful_actor<event_forwarder_state>* self,
                              std::shared_ptr<io_thread> io, std::uint64_t key,
                              std::shared_ptr<const berth_handles> actors, event_filter filter,
                              events_actor events);

// The client's Subscription: dropping it (or cancel) drops the pump, whose
// end stops the forwarder.
class event_subscription final : public wire::api::Subscription::Server {
 public:
  event_subscription(io_thread& io, std::uint64_t key) : io_(io), key_(key) {}
  ~event_subscription() noexcept(false) { io_.drop(key_); }
  kj::Promise<void> cancel(CancelContext) override {
    io_.drop(key_);
    return kj::READY_NOW;
  }

 private:
  io_thread& io_;
  std::uint64_t key_;
};

}  // namespace berth
