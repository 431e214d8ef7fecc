// The daemon's task states and which operation each accepts: one pure table,
// no I/O, no actors. The task actor asks decide() before it does anything,
// so every refusal comes from here; tests/unit/actors/task_states_test.cpp
// reads as the specification.
//
// The phases are the task actor's view of its task, a superset of the
// status a client sees (status_of()):
//   creating            berth-shim start, connect, runc create (until create answered)
//   recovering          berthd restarted: the shim is being asked its state
//   created, running, paused, created_checkpoint   as the shim reported
//   unknown             the shim does not answer within its deadline but is
//                       alive: berthd keeps asking with backoff; a slow shim is
//                       not a dead one
//   burying             the shim is gone: `berth-shim delete` collects its exit
//   exiting             the init exit is known and being stored
//   stopped             the init exit is stored
//   deleting            the task is being deleted
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "actors/store/records.hpp"

namespace berth {

enum class task_phase : std::uint8_t {
  creating,
  recovering,
  created,
  running,
  paused,
  created_checkpoint,
  unknown,
  burying,
  exiting,
  stopped,
  deleting,
};

inline constexpr std::array all_task_phases{
    task_phase::creating, task_phase::recovering, task_phase::created,
    task_phase::running,  task_phase::paused,     task_phase::created_checkpoint,
    task_phase::unknown,  task_phase::burying,    task_phase::exiting,
    task_phase::stopped,  task_phase::deleting,
};

// What a client (or the task's creator) asks of a task.
enum class task_op : std::uint8_t {
  create,      // start the shim and `runc create`
  start,       // the init process
  start_exec,  // an exec process
  exec,        // add an exec process
  pause,
  resume,
  kill,
  pids,
  metrics,
  update,
  close_io,
  attach,
  resize_pty,
  checkpoint,
  delete_task,  // the task itself
  delete_exec,  // one exec process
  wait,         // for the init exit
  wait_exec,
  info,        // the init process's state, from the record
  exec_state,  // one exec process's state
};

inline constexpr std::array all_task_ops{
    task_op::create,     task_op::start,      task_op::start_exec,  task_op::exec,
    task_op::pause,      task_op::resume,     task_op::kill,        task_op::pids,
    task_op::metrics,    task_op::update,     task_op::close_io,    task_op::attach,
    task_op::resize_pty, task_op::checkpoint, task_op::delete_task, task_op::delete_exec,
    task_op::wait,       task_op::wait_exec,  task_op::info,        task_op::exec_state,
};

enum class task_verdict : std::uint8_t {
  accept,       // legal: the task actor does it
  refuse,       // failed_precondition: "cannot pause task default/web: it is stopped"
  unavailable,  // the shim cannot be asked now (unknown): answered at once, never waits
  defer,        // stays in the mailbox until the phase changes (recovering, burying, exiting)
};

task_verdict decide(task_phase phase, task_op op);

// Running and paused tasks are deleted only with force (kill, wait, delete).
bool delete_needs_force(task_phase phase);

// The status a client sees; `recorded` is the last status the store holds,
// shown while the phase itself says nothing new (recovering, burying, deleting).
task_status status_of(task_phase phase, task_status recorded);

// The phase a status the shim reported puts the task in (stopped: exiting,
// since its exit still has to be stored).
task_phase phase_of(task_status status);

// For messages: "running", "created from a checkpoint", "being deleted".
const char* phase_name(task_phase phase);

// For messages: "pause", "list processes of", "start exec X of" is built by
// the caller from "start exec".
const char* op_phrase(task_op op);

}  // namespace berth
