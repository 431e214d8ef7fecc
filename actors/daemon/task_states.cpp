#include "actors/daemon/task_states.hpp"

namespace berth {
namespace {

using v = task_verdict;

// Every switch lists all operations and has no default: a new operation
// fails to compile (-Wswitch, warnings are errors) until each phase answers it.

v while_creating(task_op op) {
  switch (op) {
    case task_op::create:
    case task_op::info:
      return v::accept;
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::exec_state:
      return v::refuse;
  }
  return v::refuse;
}

// recovering and burying: the state is about to be known; a request waits
// for it rather than being refused by a state that is only a guess.
v while_asking_the_shim(task_op op) {
  switch (op) {
    case task_op::info:
      return v::accept;  // a listing never waits: the record answers
    case task_op::create:
      return v::refuse;
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::exec_state:
      return v::defer;
  }
  return v::defer;
}

// What every live phase (created, running, paused) lets through to the shim.
bool live_common(task_op op) {
  switch (op) {
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::info:
    case task_op::exec_state:
      return true;
    case task_op::create:
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::checkpoint:
      return false;
  }
  return false;
}

v when_created(task_op op) {
  if (live_common(op) || op == task_op::start) return v::accept;
  return v::refuse;
}

v when_running(task_op op) {
  switch (op) {
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::checkpoint:
      return v::accept;
    case task_op::create:
    case task_op::start:
    case task_op::resume:
      return v::refuse;
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::info:
    case task_op::exec_state:
      return live_common(op) ? v::accept : v::refuse;
  }
  return v::refuse;
}

v when_paused(task_op op) {
  if (live_common(op) || op == task_op::resume || op == task_op::checkpoint) return v::accept;
  return v::refuse;
}

v when_created_checkpoint(task_op op) {
  switch (op) {
    case task_op::start:
    case task_op::kill:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::info:
    case task_op::exec_state:
      return v::accept;
    case task_op::create:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
      return v::refuse;
  }
  return v::refuse;
}

// The shim is alive but slow: nothing that needs it waits for it.
v when_unknown(task_op op) {
  switch (op) {
    case task_op::info:
    case task_op::exec_state:  // what the task actor knows, else unavailable
    case task_op::wait:        // the exit comes when the shim answers again
      return v::accept;
    case task_op::create:
      return v::refuse;
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait_exec:
      return v::unavailable;
  }
  return v::unavailable;
}

// exiting and stopped differ only where the stored exit matters: a delete
// waits until it is stored (wait() is queued by the task actor itself).
v when_stopped(task_op op, bool storing) {
  switch (op) {
    case task_op::pids:  // nothing runs: answered empty, without the shim
    case task_op::delete_exec:
    case task_op::wait:
    case task_op::wait_exec:
    case task_op::info:
    case task_op::exec_state:
      return v::accept;
    case task_op::delete_task:
      return storing ? v::defer : v::accept;
    case task_op::create:
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::kill:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
      return v::refuse;
  }
  return v::refuse;
}

v when_deleting(task_op op) {
  switch (op) {
    case task_op::info:
    case task_op::wait:
      return v::accept;
    case task_op::create:
    case task_op::start:
    case task_op::start_exec:
    case task_op::exec:
    case task_op::pause:
    case task_op::resume:
    case task_op::kill:
    case task_op::pids:
    case task_op::metrics:
    case task_op::update:
    case task_op::close_io:
    case task_op::attach:
    case task_op::resize_pty:
    case task_op::checkpoint:
    case task_op::delete_task:
    case task_op::delete_exec:
    case task_op::wait_exec:
    case task_op::exec_state:
      return v::refuse;
  }
  return v::refuse;
}

}  // namespace

task_verdict decide(task_phase phase, task_op op) {
  switch (phase) {
    case task_phase::creating:
      return while_creating(op);
    case task_phase::recovering:
    case task_phase::burying:
      return while_asking_the_shim(op);
    case task_phase::created:
      return when_created(op);
    case task_phase::running:
      return when_running(op);
    case task_phase::paused:
      return when_paused(op);
    case task_phase::created_checkpoint:
      return when_created_checkpoint(op);
    case task_phase::unknown:
      return when_unknown(op);
    case task_phase::exiting:
      return when_stopped(op, true);
    case task_phase::stopped:
      return when_stopped(op, false);
    case task_phase::deleting:
      return when_deleting(op);
  }
  return v::refuse;
}

bool delete_needs_force(task_phase phase) {
  return phase == task_phase::running || phase == task_phase::paused;
}

task_status status_of(task_phase phase, task_status recorded) {
  switch (phase) {
    case task_phase::creating:
    case task_phase::created:
      return task_status::created;
    case task_phase::running:
      return task_status::running;
    case task_phase::paused:
      return task_status::paused;
    case task_phase::created_checkpoint:
      return task_status::created_checkpoint;
    case task_phase::unknown:
      return task_status::unknown;
    case task_phase::exiting:
    case task_phase::stopped:
      return task_status::stopped;
    case task_phase::recovering:
    case task_phase::burying:
    case task_phase::deleting:
      return recorded;
  }
  return recorded;
}

task_phase phase_of(task_status status) {
  switch (status) {
    case task_status::created:
      return task_phase::created;
    case task_status::running:
      return task_phase::running;
    case task_status::paused:
      return task_phase::paused;
    case task_status::created_checkpoint:
      return task_phase::created_checkpoint;
    case task_status::stopped:
      return task_phase::exiting;
    case task_status::unknown:
      return task_phase::unknown;
  }
  return task_phase::unknown;
}

const char* phase_name(task_phase phase) {
  switch (phase) {
    case task_phase::creating:
      return "being created";
    case task_phase::recovering:
      return "recovering";
    case task_phase::created:
      return "created";
    case task_phase::running:
      return "running";
    case task_phase::paused:
      return "paused";
    case task_phase::created_checkpoint:
      return "created from a checkpoint";
    case task_phase::unknown:
      return "unknown";
    case task_phase::burying:
      return "being cleaned up";
    case task_phase::exiting:
    case task_phase::stopped:
      return "stopped";
    case task_phase::deleting:
      return "being deleted";
  }
  return "unknown";
}

const char* op_phrase(task_op op) {
  switch (op) {
    case task_op::create:
      return "create";
    case task_op::start:
      return "start";
    case task_op::start_exec:
      return "start an exec process of";
    case task_op::exec:
      return "exec in";
    case task_op::pause:
      return "pause";
    case task_op::resume:
      return "resume";
    case task_op::kill:
      return "kill";
    case task_op::pids:
      return "list processes of";
    case task_op::metrics:
      return "collect metrics of";
    case task_op::update:
      return "update";
    case task_op::close_io:
      return "close the I/O of";
    case task_op::attach:
      return "attach to";
    case task_op::resize_pty:
      return "resize the terminal of";
    case task_op::checkpoint:
      return "checkpoint";
    case task_op::delete_task:
      return "delete";
    case task_op::delete_exec:
      return "delete an exec process of";
    case task_op::wait:
      return "wait for";
    case task_op::wait_exec:
      return "wait for an exec process of";
    case task_op::info:
      return "read";
    case task_op::exec_state:
      return "read an exec process of";
  }
  return "use";
}

}  // namespace berth
