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
#include <caf/send.hpp>
#include <caf/unit.hpp>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "actors/runtime/io_thread.hpp"

namespace berth {

// A job for a caller actor: send one request, arrange for the answer.
struct bridge_job {
  std::function<void(caf::event_based_actor*)> run;
};

}  // namespace berth

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(berth::bridge_job)

namespace berth {

struct api_bridge {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<io_thread> io;
  kj::Timer* timer = nullptr;  // the KJ loop's timer
  caf::actor caller;           // see with_caller()
};

// Runs the jobs it is sent, in order; ends with an exit message.
inline caf::behavior bridge_caller(caf::event_based_actor* self, int) {
  return {[self](bridge_job& job) { job.run(self); }};
}

// A copy of `b` with a caller of its own (for one capability). Stop it with
// caf::anon_send_exit(b.caller, caf::exit_reason::user_shutdown).
inline api_bridge with_caller(api_bridge b) {
  b.caller = b.sys->spawn(bridge_caller, 0);
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

template <class Reply>
void answer(const std::shared_ptr<io_thread>& io, std::uint64_t key,
            caf::expected<reply_t<Reply>> result) {
  io->post([io = io.get(), key, result = std::move(result)](kj::AsyncIoContext&) mutable {
    if (auto* p = io->find<pending_reply<Reply>>(key)) {
      p->fulfiller->fulfill(std::move(result));
      io->drop(key);
    }
  });
}

template <class Reply, class Handle, class Tuple>
void send_request(caf::event_based_actor* self, std::shared_ptr<io_thread> io, std::uint64_t key,
                  Handle dest, Tuple args) {
  std::apply(
      [&](auto&... xs) {
        auto on_error = [io, key](caf::error& err) {
          answer<Reply>(io, key, caf::expected<reply_t<Reply>>{std::move(err)});
        };
        if constexpr (std::is_void_v<Reply>) {
          self->request(dest, caf::infinite, std::move(xs)...)
              .then([io, key] { answer<Reply>(io, key, caf::unit); }, on_error);
        } else {
          self->request(dest, caf::infinite, std::move(xs)...)
              .then([io, key](Reply& r) { answer<Reply>(io, key, std::move(r)); }, on_error);
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
  bridge_job job{[io = b.io, key, dest = std::move(dest), args](caf::event_based_actor* self) {
    detail::send_request<Reply>(self, io, key, dest, std::move(*args));
  }};
  caf::anon_send(b.caller, std::move(job));
  return paf.promise.attach(kj::defer([io = b.io.get(), key] { io->drop(key); }));
}

}  // namespace berth
