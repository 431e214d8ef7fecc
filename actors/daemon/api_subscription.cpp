#include "actors/daemon/api_subscription.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace berth {
namespace {

using resubscribe_atom = caf::atom_constant<caf::atom("resubscr")>;

}  // namespace

caf::behavior event_forwarder(caf::stateful_actor<event_forwarder_state>* self,
                              std::shared_ptr<io_thread> io, std::uint64_t key,
                              std::shared_ptr<const berth_handles> actors, event_filter filter,
                              events_actor events) {
  auto& st = self->state;
  st.io = std::move(io);
  st.key = key;
  st.actors = std::move(actors);
  st.filter = std::move(filter);
  st.events = std::move(events);
  st.first = st.events.address();
  self->monitor(st.events);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source != self->state.events.address()) return;
    spdlog::info(
        "event subscription: the events actor ended ({}); subscribing again after "
        "event {}",
        caf::to_string(msg.reason), self->state.last);
    self->state.ended = self->state.events.address();
    self->state.events = nullptr;
    self->send(self, resubscribe_atom::value);
  });
  return {
      [self](berth_event& e) {
        auto& st = self->state;
        // Never twice, whatever a resubscription replays.
        if (e.kind != event_kind::subscriber_too_slow && e.sequence <= st.last &&
            st.events.address() != st.first)
          return;
        st.last = std::max(st.last, e.sequence);
        st.io->post([io = st.io.get(), key = st.key, e = std::move(e)](kj::AsyncIoContext& ctx) {
          auto* pump = io->find<event_pump>(key);
          if (pump && !pump->deliver(e, ctx.provider->getTimer())) io->drop(key);
        });
      },
      // The subscription started at `from` (the events actor's answer).
      [self](caf::ok_atom, std::uint64_t from) {
        self->state.last = std::max(self->state.last, from);
      },
      [self](event_ack_atom, std::uint64_t seq) {
        auto& st = self->state;
        if (st.events)
          self->send(st.events, event_ack_atom::value,
                     caf::actor_cast<event_subscriber>(self->ctrl()), seq);
      },
      [self](resubscribe_atom) {
        auto& st = self->state;
        auto now = st.actors ? st.actors->events() : events_actor{};
        if (!now || now.address() == st.ended) {
          // Not restarted yet. The supervisor gives up within seconds;
          // then berthd stops and the client's connection ends.
          if (++st.attempts < 1500)
            self->delayed_send(self, std::chrono::milliseconds(20), resubscribe_atom::value);
          return;
        }
        st.attempts = 0;
        st.events = now;
        self->monitor(now);
        self->request(now, caf::infinite, subscribe_atom::value, st.filter,
                      caf::actor_cast<event_subscriber>(self->ctrl()), st.last)
            .then([](std::uint64_t) {},
                  [self](caf::error& err) {
                    spdlog::warn(
                        "event subscription: subscribing again after event {} "
                        "failed: {}",
                        self->state.last, caf::to_string(err));
                    self->quit(err);
                  });
      },
  };
}

}  // namespace berth
