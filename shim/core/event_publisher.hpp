// Numbered, acknowledged delivery of the task's events to one subscriber.
// Every event gets the next sequence number and stays queued until the
// sink's `publish` call returns (that return is the acknowledgement). When
// the sink fails or is replaced, the queue is sent again, in order, with the
// original numbers, so a daemon that was away receives each exit once per
// number and can recognise a repeat.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <capnp/message.h>
#include <kj/async.h>

#include "schema/types.capnp.h"

namespace berth::shim {

class event_publisher {
 public:
  event_publisher(std::string ns, std::string id) : ns_(std::move(ns)), id_(std::move(id)) {}

  // Queues an event; `fill` sets the union arm. Returns its sequence number.
  uint64_t publish(const char* topic, const std::function<void(wire::Event::Builder)>& fill);

  // Replaces the sink. Events numbered <= after_sequence count as delivered.
  void subscribe(wire::EventSink::Client sink, uint64_t after_sequence);

  size_t pending() const { return queue_.size(); }
  uint64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  void send_next();
  kj::Promise<void> send_loop(uint64_t generation);

  std::string ns_, id_;
  uint64_t next_sequence_ = 1;
  std::deque<kj::Own<capnp::MallocMessageBuilder>> queue_;
  kj::Maybe<wire::EventSink::Client> sink_;
  uint64_t generation_ = 0;  // bumps on every subscribe; stale completions are ignored
  bool in_flight_ = false;
  kj::Promise<void> sending_ = nullptr;
};

// Nanoseconds since the Unix epoch.
int64_t now_ns();

}  // namespace berth::shim
