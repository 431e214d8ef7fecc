#include "shim/core/event_publisher.hpp"

#include <ctime>

namespace berth::shim {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
// Events other than exits are useful but not vital; past this many unacknowledged
// events the oldest non-exit ones are dropped so a daemon that never comes back
// cannot grow the shim without bound.
constexpr size_t kMaxQueued = 256;

bool is_exit(capnp::MallocMessageBuilder& m) {
  auto e = m.getRoot<wire::Event>();
  return e.isTaskExit() || e.isTaskDelete();
}
}  // namespace

uint64_t event_publisher::publish(const char* topic,
                                  const std::function<void(wire::Event::Builder)>& fill) {
  auto message = kj::heap<capnp::MallocMessageBuilder>(256);
  auto event = message->initRoot<wire::Event>();
  uint64_t seq = next_sequence_++;
  event.setSequence(seq);
  event.setNamespace(ns_);
  event.setId(id_);
  event.setTimestamp(now_ns());
  event.setTopic(topic);
  fill(event);
  queue_.push_back(kj::mv(message));
  if (queue_.size() > kMaxQueued) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (!is_exit(**it) && !(in_flight_ && it == queue_.begin())) {
        queue_.erase(it);
        break;
      }
    }
  }
  send_next();
  return seq;
}

void event_publisher::subscribe(wire::EventSink::Client sink, uint64_t after_sequence) {
  while (!queue_.empty() &&
         queue_.front()->getRoot<wire::Event>().getSequence() <= after_sequence) {
    queue_.pop_front();
  }
  sink_ = kj::mv(sink);
  ++generation_;
  in_flight_ = false;
  sending_ = nullptr;  // cancels a call to the old sink; its event is sent again
  send_next();
}

void event_publisher::send_next() {
  if (in_flight_ || queue_.empty() || sink_ == nullptr) return;
  in_flight_ = true;
  sending_ = send_loop(generation_).eagerlyEvaluate(nullptr);
}

// Sends the queue head, waits for the acknowledgement, pops it and goes on
// with the next one; the chain ends when the queue is empty or the sink fails.
// One call in flight at a time keeps the order.
kj::Promise<void> event_publisher::send_loop(uint64_t generation) {
  if (generation != generation_) return kj::READY_NOW;
  if (queue_.empty()) {
    in_flight_ = false;
    return kj::READY_NOW;
  }
  KJ_IF_MAYBE (sink, sink_) {
    auto request = sink->publishRequest();
    auto head = queue_.front()->getRoot<wire::Event>();
    request.setEvent(head.asReader());
    uint64_t seq = head.getSequence();
    return request.send().then(
        [this, seq, generation](auto&&) -> kj::Promise<void> {
          if (generation != generation_) return kj::READY_NOW;
          if (!queue_.empty() && queue_.front()->getRoot<wire::Event>().getSequence() == seq) {
            queue_.pop_front();
          }
          return send_loop(generation);
        },
        [this, generation](kj::Exception&&) {
          // The subscriber is gone: keep everything for the next one.
          if (generation != generation_) return;
          in_flight_ = false;
          sink_ = nullptr;
        });
  }
  in_flight_ = false;
  return kj::READY_NOW;
}

}  // namespace berth::shim
