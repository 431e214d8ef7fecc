#include "actors/runtime/shim_proxy.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_map>
#include <utility>

#include "actors/errors.hpp"
#include "actors/runtime/shim_link.hpp"

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

// Posts `fn(link, call id)` to the KJ thread and returns the promise the
// answer will be delivered through (converted to the handler's result type).
template <class Fn>
caf::response_promise call(proxy_pointer self, Fn fn) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  auto id = st.next_call++;
  st.pending.emplace(id, promise);
  bool posted = st.io->post(
      [io = st.io.get(), key = st.key, id, fn = std::move(fn)](kj::AsyncIoContext&) mutable {
        if (auto* link = io->find<shim_link>(key)) fn(*link, id);
      });
  if (!posted) {
    st.pending.erase(id);
    promise.deliver(
        make_error(errc::unavailable, "shim for task " + st.cfg.ns + "/" + st.cfg.id +
                                          " is unavailable: berthd's I/O thread stopped"));
  }
  return promise;
}

shim_proxy_impl::behavior_type serving(proxy_pointer self) {
  auto d = to_kj(self->state.cfg.deadline);
  // create, start and delete run the OCI runtime, which takes seconds on a
  // loaded machine; they get the longer of the deadline and command_deadline.
  auto slow = to_kj(std::max(self->state.cfg.deadline, self->state.cfg.command_deadline));
  return {
      [=](shim_connect) -> caf::result<shim_info> {
        return call(self, [d](shim_link& l, std::uint64_t id) { l.connect(id, d); });
      },
      [=](shim_create& x) -> caf::result<std::uint32_t> {
        return call(self, [slow, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.create(id, std::move(x), slow);
        });
      },
      [=](shim_start& x) -> caf::result<std::uint32_t> {
        return call(self, [slow, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.start(id, std::move(x), slow);
        });
      },
      [=](shim_state& x) -> caf::result<process_state> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.state(id, std::move(x), d);
        });
      },
      [=](shim_pids) -> caf::result<std::vector<process_info>> {
        return call(self, [d](shim_link& l, std::uint64_t id) { l.pids(id, d); });
      },
      [=](shim_pause) -> caf::result<void> {
        return call(self, [d](shim_link& l, std::uint64_t id) { l.pause(id, d); });
      },
      [=](shim_resume) -> caf::result<void> {
        return call(self, [d](shim_link& l, std::uint64_t id) { l.resume(id, d); });
      },
      [=](shim_kill& x) -> caf::result<void> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.kill(id, std::move(x), d);
        });
      },
      [=](shim_exec& x) -> caf::result<void> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.exec(id, std::move(x), d);
        });
      },
      [=](shim_wait& x) -> caf::result<exit_status> {
        return call(self, [x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.wait(id, std::move(x));
        });
      },
      [=](shim_delete& x) -> caf::result<deleted_process> {
        return call(self, [slow, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.remove(id, std::move(x), slow);
        });
      },
      [=](shim_close_io& x) -> caf::result<void> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.close_io(id, std::move(x), d);
        });
      },
      [=](shim_attach& x) -> caf::result<bool> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.attach(id, std::move(x), d);
        });
      },
      [=](shim_resize_pty& x) -> caf::result<void> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.resize_pty(id, std::move(x), d);
        });
      },
      [=](shim_update x) -> caf::result<void> {
        return call(self, [d, x](shim_link& l, std::uint64_t id) { l.update(id, x, d); });
      },
      [=](shim_stats) -> caf::result<task_stats> {
        return call(self, [d](shim_link& l, std::uint64_t id) { l.stats(id, d); });
      },
      [=](shim_checkpoint& x) -> caf::result<void> {
        return call(self, [d, x = std::move(x)](shim_link& l, std::uint64_t id) mutable {
          l.checkpoint(id, std::move(x), d);
        });
      },
      [=](shim_shutdown x) -> caf::result<void> {
        return call(self, [d, x](shim_link& l, std::uint64_t id) { l.shutdown(id, x, d); });
      },
      [=](shim_subscribe x) -> caf::result<void> {
        if (!self->state.subscriber) {
          return make_error(errc::failed_precondition,
                            "shim for task " + self->state.cfg.ns + "/" + self->state.cfg.id +
                                ": cannot subscribe to events: the proxy has no subscriber");
        }
        return call(self, [d, x](shim_link& l, std::uint64_t id) { l.subscribe(id, x, d); });
      },
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
  shim_link::names names{st.cfg.ns, st.cfg.id, st.cfg.address};
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  st.io->post([io = st.io.get(), key = st.key, weak, names](kj::AsyncIoContext& ctx) {
    io->keep(key, kj::heap<shim_link>(ctx, weak, names));
  });
  return serving(self);
}

}  // namespace

shim_proxy_actor spawn_shim_proxy(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                                  shim_proxy_config cfg, shim_event_sink subscriber) {
  shim_proxy_impl impl =
      sys.spawn(shim_proxy_fun, std::move(io), std::move(cfg), std::move(subscriber));
  return impl;
}

}  // namespace berth
