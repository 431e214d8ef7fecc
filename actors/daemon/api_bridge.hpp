// How the API server, on the KJ thread, asks an actor and waits without
// blocking: ask<Reply>(bridge, actor, message...) returns a kj::Promise that
// resolves with the actor's reply (or its error) on the KJ thread.
//
// The KJ thread keeps the promise's fulfiller in the io_thread registry and
// spawns a one-shot bridge actor that sends the request and posts the answer
// back. KJ objects stay on the KJ thread; actors only post closures.
#pragma once

#include <kj/async.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/unit.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "actors/runtime/io_thread.hpp"

namespace berth {

struct api_bridge {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<io_thread> io;
  kj::Timer* timer = nullptr;  // the KJ loop's timer
};

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
void bridge_fun(caf::event_based_actor* self, std::shared_ptr<io_thread> io, std::uint64_t key,
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
  b.sys->spawn(detail::bridge_fun<Reply, Handle, tuple>, b.io, key, std::move(dest),
               tuple{std::move(xs)...});
  return paf.promise.attach(kj::defer([io = b.io.get(), key] { io->drop(key); }));
}

}  // namespace berth
