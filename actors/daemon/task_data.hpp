// The task actor's state and what its three files share. Internal to
// actors/daemon; the interface is task_actor.hpp.
//
//   task_actor.cpp   its behaviors (creating, serving), the operations a
//                    client asks for, and how they reach the proxy
//   task_record.cpp  what the task knows and tells: its record (stored), the
//                    init exit (stored, then published and answered), the
//                    shim's events turned into berth events
//   task_reach.cpp   reaching the shim: connecting at recovery and after a
//                    loss, `unknown` with backoff while it does not answer,
//                    burying a shim that is gone
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/daemon/task_actor.hpp"
#include "actors/daemon/task_states.hpp"
#include "actors/runtime/shim_proxy.hpp"

namespace berth::task_detail {

// Ask the shim (again): at recovery, and while the task is unknown.
using reach_atom = caf::atom_constant<caf::atom("reachShim")>;

struct exec_process {
  std::uint32_t pid = 0;
  task_status status = task_status::created;
  exit_status exit;
};

struct task_data {
  task_context ctx;
  task_params params;
  task_record record;
  shim_proxy_actor proxy;
  task_phase phase = task_phase::creating;
  // While unknown: attempts to reach the shim since it last answered, the
  // shim's pid (from shim.pid) and the delay before the next attempt.
  std::uint32_t attempts = 0;
  std::int32_t shim_pid = 0;
  std::chrono::milliseconds retry{0};
  std::uint64_t last_event = 0;  // highest shim event sequence handled
  std::map<std::string, exec_process> execs;
  std::vector<caf::response_promise> init_waiters;  // wait() before the exit is stored

  static inline const char* name = "berth.task";
};

// The public interface plus the retry timer's message.
using task_impl = task_actor::extend<caf::reacts_to<reach_atom>>;
using task_self = task_impl::stateful_pointer<task_data>;

// ---- task_record.cpp ---------------------------------------------------------

// "task default/web", for messages.
std::string who(task_self self);
// created, running, paused or created_checkpoint: a container that exists.
bool is_live(task_phase p);
// What a client sees: the record's facts in the phase's status.
task_info info_of(task_self self);
task_status from_shim(shim_status s);
// Stores the record; nobody waits for it (a restart asks the shim anyway).
void persist(task_self self);
// To the events actor, stamped with this task's names.
void publish(task_self self, berth_event e);
// A live status the shim confirmed: recorded (stored when it changed) and entered.
void settle(task_self self, task_status status);
// The init process exited: stored, then published and answered, once.
void on_init_exit(task_self self, exit_status status, std::uint32_t pid);
void on_shim_event(task_self self, shim_event& ev);

// ---- task_reach.cpp ----------------------------------------------------------

// Why the task is unknown: "its shim does not answer (pid 42, 3 attempts); retrying".
std::string silence(task_self self);
// Connects a fresh proxy and asks the shim its state; what it says (or its
// silence, or its absence) decides the phase.
void reach_shim(task_self self);
// Every error from a call to the shim passes here: a missed deadline makes
// a live task unknown.
void noticed(task_self self, const caf::error& err);
void on_shim_lost(task_self self, shim_lost& lost);

}  // namespace berth::task_detail
