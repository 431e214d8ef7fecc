// task: one actor per task (the running instance of a container), the
// daemon's view of one shim's init process and its exec processes.
//
// Its phase — creating, recovering, created, running, paused,
// created_checkpoint, unknown, burying, exiting, stopped, deleting — decides
// what it accepts, and one pure table (task_states.hpp) says which operation
// is legal in which phase: every refusal ("cannot pause task default/web: it
// is stopped") comes from there. `creating` is a behavior of its own (only
// create is taken); every later phase shares one behavior whose handlers ask
// the table first (the actor is typed: task_actor plus its own retry
// message, so the compiler checks that every message is answered with the
// interface's type). An init exit (a shim event) is accepted in every phase and
// leads to stopped.
//
// The task speaks to its shim only through its shim_proxy (every call but
// wait has a deadline) and answers state questions from what it knows, so a
// hung shim never delays a listing. A shim that misses a deadline (at restart
// or at any time) makes the task `unknown`: requests that need the shim are
// answered `unavailable` at once, saying why, and the shim is asked again
// with backoff (0.5 s doubling to 10 s) until it answers — then the task is
// what the shim says, its container untouched. Only a shim that is gone (its
// pid is gone, its socket refuses or is missing: shim_presence.hpp) is
// cleaned up (`berth-shim delete`). The task persists through the store what
// a restart needs (shim address, pid, status, exit) and publishes events to
// the events actor; an init exit is stored before it is published or
// answered.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/daemon/daemon_messages.hpp"
#include "actors/daemon/events.hpp"
#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/store/store_actor.hpp"
#include "schema/log_limits.hpp"

namespace berth {

using task_info_atom = caf::atom_constant<caf::atom("taskInfo")>;
using create_atom = caf::atom_constant<caf::atom("create")>;

using task_actor = caf::typed_actor<
    // Asked once by whoever spawned a fresh task: start the shim, `runc
    // create`, persist; replies with the init pid.
    caf::replies_to<create_atom>::with<std::uint32_t>,
    caf::replies_to<task_info_atom>::with<task_info>,
    caf::replies_to<task_start>::with<std::uint32_t>, caf::replies_to<task_state>::with<task_info>,
    caf::replies_to<task_pids>::with<std::vector<process_info>>, caf::reacts_to<task_pause>,
    caf::reacts_to<task_resume>, caf::reacts_to<task_kill>, caf::reacts_to<task_exec>,
    caf::replies_to<task_wait>::with<exit_status>,
    caf::replies_to<task_delete>::with<deleted_process>, caf::reacts_to<task_close_io>,
    caf::replies_to<task_attach>::with<bool>, caf::reacts_to<task_resize_pty>,
    caf::reacts_to<task_update>, caf::replies_to<task_metrics>::with<task_stats>,
    caf::reacts_to<task_checkpoint>,
    // From its shim proxy.
    caf::reacts_to<shim_event>, caf::reacts_to<shim_lost>>;

// A task as the registry hands it out: the actor and what it knew then.
struct task_handle {
  task_actor task;
  task_info info;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_handle& x) {
  return f(caf::meta::type_name("berth.task_handle"), x.task, x.info);
}

// What a task needs from the rest of the daemon.
struct task_context {
  store_actor store;
  events_actor events;
  runtime_actor runtime;
};

// Everything about one task that does not change while it lives.
struct task_params {
  std::string ns;
  std::string id;
  std::string bundle;  // <state>/<ns>/<id>: config.json, the shim's files
  stdio_paths stdio;
  std::vector<mount_spec> rootfs;  // mounts the shim makes at bundle/rootfs
  std::string checkpoint;
  log_limits logs{};   // bounds <bundle>/task.log
  bool start = false;  // create starts the init process too (task_create::start)
};

// A fresh task in behavior `creating`; send it create_atom.
task_actor spawn_task(caf::actor_system& sys, task_context ctx, task_params params);

// A task rebuilt from its record when berthd restarts: in `recovering` it
// reconnects to the shim (within the runtime's call deadline), becomes the
// state the shim reports and stores and publishes an exit it missed, once.
// A shim that does not answer makes it `unknown` (asked again with backoff);
// a shim that is gone is cleaned up (`berth-shim delete`) and the task
// becomes stopped with the exit it recorded, or 255 and the reason.
task_actor spawn_recovered_task(caf::actor_system& sys, task_context ctx, task_params params,
                                task_record record);

}  // namespace berth
