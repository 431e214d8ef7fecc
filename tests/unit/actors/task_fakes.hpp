// Fakes of what a task actor talks to — the store, the events actor, the
// runtime and the shim proxy the runtime hands out — for the deterministic
// task actor tests. Each writes what it was asked into the test's journal
// ("store: exit default/web 137", "shim: pause") and answers from a script
// the test controls, so a test can say what the task did, in which order,
// and what it did not do.
//
// The fakes speak only the public typed interfaces (store_actor,
// events_actor, runtime_actor, shim_proxy_actor), so they hold however the
// task actor is built inside.
#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/daemon/events.hpp"
#include "actors/daemon/task_actor.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/runtime/shim_proxy.hpp"
#include "actors/store/store_actor.hpp"
#include "tests/unit/actors/deterministic_system.hpp"

namespace berth::test {

// The shim behind every fake proxy of one task: its process's state and how
// it behaves. A test changes these between steps.
struct fake_shim {
  std::string ns = "default";
  std::string id = "web";
  std::uint32_t shim_pid = 4000;
  std::uint32_t pid = 4242;  // the init process; exec processes get pid + 1
  shim_status status = shim_status::created;
  exit_status exit;  // meaningful once stopped
  // Stopped (SIGSTOP): calls get no answer, so each proxy call fails with
  // deadline_exceeded once `deadline` passed on the test clock, as the real
  // proxy's calls do.
  bool silent = false;
  std::chrono::milliseconds deadline{5000};
  // Gone: connecting is refused (unavailable), as for a dead shim's socket.
  bool gone = false;
  // What `runc create` answers instead of a pid, when set.
  caf::error create_error;
  // What `berth-shim delete` reports for a shim that died before recording
  // an exit.
  exit_status cleanup_exit{255, 0, caf::timestamp{}, "no exit was recorded"};
  // The last proxy's subscriber (the task): where emit() sends events.
  shim_event_sink subscriber;
  std::size_t proxies = 0;  // proxies the fake runtime spawned
};

// The shim publishes an event, as a proxy would hand it to its subscriber.
void emit(const fake_shim& shim, shim_event ev);

// The store's side: what it holds, and whether it keeps an exit's answer
// back until release_exits() (so a test can look at the moment between
// "exit sent to the store" and "exit stored").
struct fake_store_data {
  std::map<std::string, task_record> tasks;  // by "ns/id"
  bool hold_exits = false;
};

struct fake_events_data {
  std::vector<berth_event> published;
};

struct task_fakes {
  std::shared_ptr<fake_shim> shim = std::make_shared<fake_shim>();
  std::shared_ptr<fake_store_data> store_data = std::make_shared<fake_store_data>();
  std::shared_ptr<fake_events_data> events_data = std::make_shared<fake_events_data>();
  store_actor store;
  events_actor events;
  runtime_actor runtime;

  explicit task_fakes(deterministic_system& d);

  task_context context() const { return {store, events, runtime}; }
  // Answers every exit the store held back.
  void release_exits();
};

}  // namespace berth::test
