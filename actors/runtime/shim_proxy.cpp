#include "actors/runtime/shim_proxy.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <type_traits>
#include <unordered_map>
#include <utility>

#include "actors/errors.hpp"
#include "actors/runtime/shim_link.hpp"
#include "actors/runtime/shim_ops.hpp"

namespace berth {
namespace {

// The public interface plus what only the proxy's own KJ side sends it.
using shim_proxy_impl =
    shim_proxy_actor::extend<caf::reacts_to<link_done_atom, std::uint64_t, caf::message>,
                             caf::reacts_to<link_event_atom, std::uint64_t, shim_event>,
                             caf::reacts_to<link_lost_atom, std::string>>;

struct shim_proxy_state {
  shim_proxy_config cfg;
  std::shared_ptr<io_thread> io;
  std::uint64_t key = 0;  // the shim_link's key in io's registry
  shim_event_sink subscriber;
  std::uint64_t next_call = 1;
  // Callers waiting for the KJ side, by call id.
  std::unordered_map<std::uint64_t, caf::response_promise> pending;

  static inline const char* name = "berth.shim_proxy";

  // Runs at termination, in the actor's context: nobody may be left waiting,
  // and the connection must close on its own thread.
  ~shim_proxy_state() {
    for (auto& [id, promise] : pending) {
      promise.deliver(make_error(errc::unavailable, "shim for task " + cfg.ns + "/" + cfg.id +
                                                        " is unavailable: its proxy stopped"));
    }
    if (io) {
      io->post([io = io.get(), key = key](kj::AsyncIoContext&) { io->drop(key); });
    }
  }
};

using proxy_pointer = shim_proxy_impl::stateful_pointer<shim_proxy_state>;

kj::Duration to_kj(std::chrono::milliseconds d) {
  return d.count() * kj::MILLISECONDS;
}

// Posts `x` to the link on the KJ thread and returns the promise its answer
// will be delivered through.
template <class Msg>
caf::result<shim_reply_t<Msg>> call(proxy_pointer self, Msg x) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  auto id = st.next_call++;
  st.pending.emplace(id, promise);
  bool posted = st.io->post(
      [io = st.io.get(), key = st.key, id, x = std::move(x)](kj::AsyncIoContext&) mutable {
        if (auto* link = io->find<shim_link>(key)) link->call(id, std::move(x));
      });
  if (!posted) {
    st.pending.erase(id);
    promise.deliver(
        make_error(errc::unavailable, "shim for task " + st.cfg.ns + "/" + st.cfg.id +
                                          " is unavailable: berthd's I/O thread stopped"));
  }
  return promise;
}

// The handler of one operation: the message goes to the link as it is.
template <class Msg>
auto operation(proxy_pointer self) {
  return [self](Msg& x) -> caf::result<shim_reply_t<Msg>> {
    if constexpr (std::is_same_v<Msg, shim_subscribe>) {
      // Events would have nowhere to go.
      if (!self->state.subscriber) {
        return make_error(errc::failed_precondition,
                          "shim for task " + self->state.cfg.ns + "/" + self->state.cfg.id +
                              ": cannot subscribe to events: the proxy has no subscriber");
      }
    }
    return call(self, std::move(x));
  };
}

// One handler per operation in shim_op_list, then what the KJ side sends.
template <class... Ops>
shim_proxy_impl::behavior_type serving(proxy_pointer self, caf::detail::type_list<Ops...>) {
  return {
      operation<Ops>(self)...,
      // ---- from the KJ side ---------------------------------------------------
      [=](link_done_atom, std::uint64_t id, caf::message& answer) {
        auto& pending = self->state.pending;
        auto it = pending.find(id);
        if (it == pending.end()) return;
        auto promise = std::move(it->second);
        pending.erase(it);
        // `answer` holds the reply's values, or one caf::error.
        promise.deliver(std::move(answer));
      },
      [=](link_event_atom, std::uint64_t token, shim_event& ev) {
        auto& st = self->state;
        bool handed = static_cast<bool>(st.subscriber);
        if (handed) self->send(st.subscriber, std::move(ev));
        // Only now may the shim's publish call return.
        st.io->post([io = st.io.get(), key = st.key, token, handed](kj::AsyncIoContext&) {
          if (auto* link = io->find<shim_link>(key)) link->ack_event(token, handed);
        });
      },
      [=](link_lost_atom, std::string& reason) {
        auto& st = self->state;
        if (st.subscriber) self->send(st.subscriber, shim_lost{st.cfg.ns, st.cfg.id, reason});
      },
  };
}

shim_proxy_impl::behavior_type shim_proxy_fun(proxy_pointer self, std::shared_ptr<io_thread> io,
                                              shim_proxy_config cfg, shim_event_sink subscriber) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.io = std::move(io);
  st.key = st.io->new_key();
  st.subscriber = std::move(subscriber);
  if (st.subscriber) {
    // A proxy nobody listens to would hold a shim connection for nothing.
    self->monitor(st.subscriber);
    self->set_down_handler([self](caf::down_msg& msg) {
      if (msg.source == self->state.subscriber.address()) self->quit(msg.reason);
    });
  }
  shim_link::settings settings{st.cfg.ns, st.cfg.id, st.cfg.address, to_kj(st.cfg.deadline),
                               to_kj(st.cfg.command_deadline)};
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  st.io->post([io = st.io.get(), key = st.key, weak, settings](kj::AsyncIoContext& ctx) {
    io->keep(key, kj::heap<shim_link>(ctx, weak, settings));
  });
  return serving(self, shim_op_list{});
}

}  // namespace

shim_proxy_actor spawn_shim_proxy(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                                  shim_proxy_config cfg, shim_event_sink subscriber) {
  shim_proxy_impl impl =
      sys.spawn(shim_proxy_fun, std::move(io), std::move(cfg), std::move(subscriber));
  return impl;
}

}  // namespace berth
