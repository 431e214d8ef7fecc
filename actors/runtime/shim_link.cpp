#include "actors/runtime/shim_link.hpp"

#include <kj/debug.h>
#include <spdlog/spdlog.h>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <algorithm>

#include "actors/errors.hpp"
#include "actors/runtime/wire_convert.hpp"

namespace berth {

namespace {

// Sends to an actor known only weakly: the KJ side must not keep the proxy
// alive. False when it is gone.
template <class... Ts>
bool tell(const caf::weak_actor_ptr& who, Ts&&... xs) {
  auto strong = caf::actor_cast<caf::strong_actor_ptr>(who);
  if (!strong) return false;
  // anon_send enqueues without an execution unit: safe from a foreign thread.
  caf::anon_send(caf::actor_cast<caf::actor>(strong), std::forward<Ts>(xs)...);
  return true;
}

std::string duration_text(kj::Duration d) {
  auto ms = d / kj::MILLISECONDS;
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// KJ_EXCEPTION would print a variable as "name = value"; this keeps the text.
kj::Exception disconnected(const std::string& why) {
  return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::str(why));
}

std::string description(const kj::Exception& e) {
  return std::string(e.getDescription().cStr());
}

}  // namespace

// Carries events from the shim's publish calls to the proxy and their
// acknowledgements back. Shared by the link and every sink it handed out,
// since the RPC system may release a sink after the link is gone.
class event_hub final : public kj::Refcounted {
 public:
  explicit event_hub(caf::weak_actor_ptr proxy) : proxy_(std::move(proxy)) {}

  kj::Promise<void> hand_over(shim_event ev) {
    if (closed_) return KJ_EXCEPTION(DISCONNECTED, "berthd's shim proxy is closing");
    auto token = next_token_++;
    auto paf = kj::newPromiseAndFulfiller<void>();
    waiting_.emplace(token, kj::mv(paf.fulfiller));
    if (!tell(proxy_, link_event_atom::value, token, std::move(ev))) {
      waiting_.erase(token);
      return KJ_EXCEPTION(DISCONNECTED, "berthd's shim proxy is gone");
    }
    return kj::mv(paf.promise);
  }

  void ack(std::uint64_t token, bool handed) {
    auto it = waiting_.find(token);
    if (it == waiting_.end()) return;
    auto fulfiller = kj::mv(it->second);
    waiting_.erase(it);
    if (handed) {
      fulfiller->fulfill();
    } else {
      fulfiller->reject(KJ_EXCEPTION(DISCONNECTED, "no subscriber for this task's events"));
    }
  }

  void close() {
    closed_ = true;
    for (auto& [token, fulfiller] : waiting_) {
      fulfiller->reject(KJ_EXCEPTION(DISCONNECTED, "berthd's shim proxy is closing"));
    }
    waiting_.clear();
  }

 private:
  caf::weak_actor_ptr proxy_;
  bool closed_ = false;
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, kj::Own<kj::PromiseFulfiller<void>>> waiting_;
};

namespace {

// The EventSink the shim calls: publish returns when the proxy has handed
// the event on.
class event_forwarder final : public wire::EventSink::Server {
 public:
  explicit event_forwarder(kj::Own<event_hub> hub) : hub_(kj::mv(hub)) {}

 protected:
  kj::Promise<void> publish(PublishContext context) override {
    return hub_->hand_over(convert::from_wire(context.getParams().getEvent()));
  }

 private:
  kj::Own<event_hub> hub_;
};

}  // namespace

shim_link::shim_link(kj::AsyncIoContext& io, caf::weak_actor_ptr proxy, settings s)
    : io_(io),
      proxy_(proxy),
      settings_(std::move(s)),
      events_(kj::refcounted<event_hub>(std::move(proxy))),
      tasks_(*this) {}

shim_link::~shim_link() noexcept(false) {
  events_->close();
  auto doomed = std::move(pending_);
  pending_.clear();
  for (auto call : doomed) {
    tell(proxy_, link_done_atom::value, call,
         caf::make_message(
             make_error(errc::unavailable, who() + " is unavailable: its proxy is closing")));
  }
}

std::string shim_link::who() const {
  return "shim for task " + settings_.ns + "/" + settings_.id;
}

void shim_link::reply(std::uint64_t call, caf::message answer) {
  if (pending_.erase(call) == 0) return;
  tell(proxy_, link_done_atom::value, call, std::move(answer));
}

caf::message shim_link::failure(const char* op, const kj::Exception& e) const {
  if (e.getType() == kj::Exception::Type::DISCONNECTED) {
    return caf::make_message(
        make_error(errc::unavailable, who() + " is unavailable (" + op + "): " + description(e)));
  }
  return caf::make_message(
      make_error(errc::internal, who() + " failed " + op + ": " + description(e)));
}

void shim_link::taskFailed(kj::Exception&& e) {
  // Every call handles its own failure; reaching here is a bug worth a line.
  spdlog::error("{}: unexpected failure: {}", who(), description(e));
}

kj::Promise<void> shim_link::open_connection() {
  auto generation = ++generation_;
  auto& network = io_.provider->getNetwork();
  // evalNow: a malformed address throws at once; it must fail the promise.
  return kj::evalNow([&] { return network.parseAddress(settings_.address); })
      .then([](kj::Own<kj::NetworkAddress> addr) {
        auto connecting = addr->connect();
        return connecting.attach(kj::mv(addr));
      })
      .then(
          [this, generation](kj::Own<kj::AsyncIoStream> stream) {
            auto c = kj::heap<connection>();
            c->stream = kj::mv(stream);
            c->rpc = kj::heap<capnp::TwoPartyClient>(*c->stream);
            c->task = c->rpc->bootstrap().castAs<Task>();
            tasks_.add(c->rpc->onDisconnect().then(
                [this, generation] { lost(generation, "the shim closed the connection"); },
                [this, generation](kj::Exception&& e) { lost(generation, description(e)); }));
            connections_.add(kj::mv(c));
            connected_ = true;
            lost_reason_.clear();
            // connecting_ itself stays: this callback runs inside it.
            connect_pending_ = false;
          },
          [this](kj::Exception&& e) {
            connect_pending_ = false;
            lost_reason_ = "cannot connect to " + settings_.address + ": " + description(e);
            kj::throwFatalException(disconnected(lost_reason_));
          });
}

void shim_link::lost(std::uint64_t generation, std::string reason) {
  if (generation != generation_ || !connected_) return;
  connected_ = false;
  lost_reason_ = "connection lost: " + reason;
  tell(proxy_, link_lost_atom::value, lost_reason_);
}

void shim_link::run(std::uint64_t call, const char* op, kj::Maybe<kj::Duration> d, sender send) {
  pending_.insert(call);
  kj::Promise<void> ready = nullptr;
  if (connect_pending_) {
    ready = KJ_ASSERT_NONNULL(connecting_).addBranch();
  } else if (connected_) {
    ready = kj::READY_NOW;
  } else {
    auto why = lost_reason_.empty() ? std::string("not connected (send shim_connect first)")
                                    : lost_reason_;
    reply(call, caf::make_message(
                    make_error(errc::unavailable, who() + " is unavailable (" + op + "): " + why)));
    return;
  }
  auto answered = ready.then([this, send = kj::mv(send)]() mutable {
    // A connection that dropped while we waited for it fails like any call.
    if (!connected_) {
      return kj::Promise<caf::message>(disconnected(lost_reason_));
    }
    return send(connections_.back()->task);
  });
  KJ_IF_MAYBE (limit, d) {
    // exclusiveJoin cancels the loser: an expired call is withdrawn from the
    // shim (Cap'n Proto sends Finish) and its late answer is dropped.
    answered = answered.exclusiveJoin(
        io_.provider->getTimer().afterDelay(*limit).then([this, op, dur = *limit] {
          return caf::make_message(
              make_error(errc::deadline_exceeded,
                         who() + " did not answer " + op + " within " + duration_text(dur)));
        }));
  }
  tasks_.add(answered.then([this, call](caf::message m) { reply(call, std::move(m)); },
                           [this, call, op](kj::Exception&& e) { reply(call, failure(op, e)); }));
}

kj::Maybe<kj::Duration> shim_link::deadline_of(deadline_class c) const {
  switch (c) {
    case deadline_class::normal:
      return settings_.deadline;
    case deadline_class::command:
      return std::max(settings_.deadline, settings_.command_deadline);
    case deadline_class::none:
      break;
  }
  return nullptr;
}

void shim_link::begin_connect() {
  if (!connected_ && !connect_pending_) {
    connect_pending_ = true;
    connecting_ = open_connection().fork();
  }
}

const std::string& shim_link::task_id() const {
  return settings_.id;
}

wire::EventSink::Client shim_link::new_event_sink() {
  return kj::heap<event_forwarder>(kj::addRef(*events_));
}

void shim_link::ack_event(std::uint64_t token, bool handed) {
  events_->ack(token, handed);
}

}  // namespace berth
