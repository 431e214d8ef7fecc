// How the API server, on the KJ thread, asks an actor and waits without
// blocking: ask<Reply>(bridge, actor, message...) returns a kj::Promise that
// resolves with the actor's reply (or its error) on the KJ thread.
//
// The KJ thread keeps the promise's fulfiller in the io_thread registry and
// hands a job to the bridge's caller actor, which sends the request and posts
// the answer back. KJ objects stay on the KJ thread; actors only post
// closures. Each capability (a connection's Berth, each Task) has its own
// caller, and CAF keeps one sender's messages to one receiver in order, so
// calls a client makes on one capability reach the actor in the order made
// (an exec then a pipelined start of it).
#pragma once

#include <kj/async.h>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/local_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/unit.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "actors/daemon/berth_handles.hpp"
#include "actors/errors.hpp"
#include "actors/runtime/io_thread.hpp"

namespace berth {

struct bridge_caller_state;
using bridge_self = caf::stateful_actor<bridge_caller_state>;

// A job for a caller actor: send one request, arrange for the answer.
struct bridge_job {
  std::function<void(bridge_self*)> run;
};

}  // namespace berth

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(berth::bridge_job)

namespace berth {

// A caller's requests in flight, by the actor each went to. CAF 0.17 never
// answers a request whose receiver ended while holding it (the promise is
// just dropped), so the caller monitors every receiver it waits on and, when
// one goes down, fails what it still waits for: no call hangs on an actor that
// failed, and the answer says which actor failed and why.
struct bridge_caller_state {
  struct waiting {
    std::string actor;  // its name, for the message
    std::map<std::uint64_t, std::function<void(caf::error)>> calls;
  };
  std::map<caf::actor_addr, waiting> pending;
  std::shared_ptr<const berth_handles> actors;  // for the supervisor's last failure

  static inline const char* name = "berth.api_caller";
};

struct api_bridge {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<io_thread> io;
  kj::Timer* timer = nullptr;  // the KJ loop's timer
  caf::actor caller;           // see with_caller()
  std::shared_ptr<const berth_handles> actors;
};

// The answer for calls cut short by their receiver's end: `internal` naming
// the actor and the cause (the supervisor restarts it), `unavailable` when
// berthd is stopping.
// An actor under the failed one (a task under the registry) may end before it
// hears the reason; then the supervisor's last failure names it.
inline caf::error cut_short(const std::string& actor, const caf::error& reason,
                            const berth_handles* actors) {
  // It finished its work (a deleted task): as for a request that reaches
  // an actor already gone, which callers map (api_task: not_found).
  if (reason == caf::exit_reason::normal) return caf::make_error(caf::sec::request_receiver_down);
  bool ours = error_code(reason) == errc::internal && reason.category() == error_category;
  std::string failure = actors && !ours ? actors->recent_failure(std::chrono::seconds(10)) : "";
  if (failure.empty() &&
      (reason == caf::exit_reason::user_shutdown || reason == caf::exit_reason::kill))
    return make_error(errc::unavailable,
                      actor + " stopped before it answered (berthd is stopping)");
  auto why = ours               ? error_message(reason)
             : !failure.empty() ? failure
                                : actor + " ended: " + caf::to_string(reason);
  return make_error(errc::internal, "the request was cut short: " + why +
                                        "; berthd's supervisor restarts it, try again");
}

// Runs the jobs it is sent, in order; ends with an exit message.
inline caf::behavior bridge_caller(bridge_self* self, std::shared_ptr<const berth_handles> actors) {
  self->state.actors = std::move(actors);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto it = self->state.pending.find(msg.source);
    if (it == self->state.pending.end()) return;
    auto gone = std::move(it->second);
    self->state.pending.erase(it);
    for (auto& [key, fail] : gone.calls)
      fail(cut_short(gone.actor, msg.reason, self->state.actors.get()));
  });
  return {[self](bridge_job& job) { job.run(self); }};
}

// A copy of `b` with a caller of its own (for one capability). Stop it with
// caf::anon_send_exit(b.caller, caf::exit_reason::user_shutdown).
inline api_bridge with_caller(api_bridge b) {
  // Hidden: the API server lives on the io_thread, which outlives the actor
  // system's shutdown, so the system must not wait for its callers.
  b.caller = b.sys->spawn<caf::hidden>(bridge_caller, b.actors);
  return b;
}

// void replies arrive as caf::unit_t.
template <class Reply>
using reply_t = std::conditional_t<std::is_void_v<Reply>, caf::unit_t, Reply>;

template <class Reply>
class pending_reply final : public io_thread::resource {
 public:
  explicit pending_reply(kj::Own<kj::PromiseFulfiller<caf::expected<reply_t<Reply>>>> f)
      : fulfiller(kj::mv(f)) {}
  kj::Own<kj::PromiseFulfiller<caf::expected<reply_t<Reply>>>> fulfiller;
};

namespace detail {

// Continuations keep the io_thread only weakly: a response handler that
// never fires (its receiver died and the down handler answered instead)
// would otherwise keep the io_thread, hence the API server, hence this
// caller, alive for good, and the actor system could never shut down.
template <class Reply>
void answer(const std::weak_ptr<io_thread>& weak, std::uint64_t key,
            caf::expected<reply_t<Reply>> result) {
  auto io = weak.lock();
  if (!io) return;  // berthd is stopping: nobody waits for the answer
  io->post([io = io.get(), key, result = std::move(result)](kj::AsyncIoContext&) mutable {
    if (auto* p = io->find<pending_reply<Reply>>(key)) {
      p->fulfiller->fulfill(std::move(result));
      io->drop(key);
    }
  });
}

// Remembers a call in flight to `dest`, monitoring dest for the first one.
template <class Reply, class Handle>
caf::actor_addr track(bridge_self* self, std::weak_ptr<io_thread> io, std::uint64_t key,
                      const Handle& dest) {
  auto addr = caf::actor_cast<caf::actor_addr>(dest);
  auto& w = self->state.pending[addr];
  if (w.calls.empty()) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(dest);
    auto* local = ptr ? dynamic_cast<caf::local_actor*>(ptr->get()) : nullptr;
    w.actor = local ? local->name() : "berthd's actor";
    self->monitor(dest);
  }
  w.calls[key] = [io, key](caf::error err) {
    answer<Reply>(io, key, caf::expected<reply_t<Reply>>{std::move(err)});
  };
  return addr;
}

// Forgets an answered call; false when the down handler already failed it.
inline bool settle(bridge_self* self, const caf::actor_addr& addr, std::uint64_t key) {
  auto it = self->state.pending.find(addr);
  if (it == self->state.pending.end() || it->second.calls.erase(key) == 0) return false;
  if (it->second.calls.empty()) {
    self->demonitor(addr);
    self->state.pending.erase(it);
  }
  return true;
}

template <class Reply, class Handle, class Tuple>
void send_request(bridge_self* self, std::shared_ptr<io_thread> io, std::uint64_t key, Handle dest,
                  Tuple args) {
  if (!dest) {
    answer<Reply>(
        io, key,
        caf::expected<reply_t<Reply>>{make_error(
            errc::unavailable, "berthd is starting or restarting its actors; try again")});
    return;
  }
  std::weak_ptr<io_thread> wio = io;
  io.reset();
  auto addr = track<Reply>(self, wio, key, dest);
  std::apply(
      [&](auto&... xs) {
        auto on_error = [self, io = wio, key, addr](caf::error& err) {
          if (!settle(self, addr, key)) return;
          answer<Reply>(io, key, caf::expected<reply_t<Reply>>{std::move(err)});
        };
        if constexpr (std::is_void_v<Reply>) {
          self->request(dest, caf::infinite, std::move(xs)...)
              .then(
                  [self, io = wio, key, addr] {
                    if (settle(self, addr, key)) answer<Reply>(io, key, caf::unit);
                  },
                  on_error);
        } else {
          self->request(dest, caf::infinite, std::move(xs)...)
              .then(
                  [self, io = wio, key, addr](Reply& r) {
                    if (settle(self, addr, key)) answer<Reply>(io, key, std::move(r));
                  },
                  on_error);
        }
      },
      args);
}

}  // namespace detail

// KJ thread only. The promise may be dropped (a client went away); the answer
// is then discarded when it comes.
template <class Reply, class Handle, class... Ts>
kj::Promise<caf::expected<reply_t<Reply>>> ask(const api_bridge& b, Handle dest, Ts... xs) {
  auto paf = kj::newPromiseAndFulfiller<caf::expected<reply_t<Reply>>>();
  auto key = b.io->new_key();
  b.io->keep(key, kj::heap<pending_reply<Reply>>(kj::mv(paf.fulfiller)));
  using tuple = std::tuple<std::decay_t<Ts>...>;
  auto args = std::make_shared<tuple>(std::move(xs)...);
  bridge_job job{[io = b.io, key, dest = std::move(dest), args](bridge_self* self) {
    detail::send_request<Reply>(self, io, key, dest, std::move(*args));
  }};
  caf::anon_send(b.caller, std::move(job));
  return paf.promise.attach(kj::defer([io = b.io.get(), key] { io->drop(key); }));
}

}  // namespace berth
