#include "shim/process/process_state.hpp"

#include <utility>

namespace berth::shim {

namespace {

constexpr refusal here{};  // failed_precondition, "it is <state>"

}  // namespace

// ---- created ----------------------------------------------------------------------------

std::optional<refusal> created_state::refuse(operation op, process_kind kind) {
  switch (op) {
    case operation::start:
    case operation::wait:  // clients wait before they start, so no exit is missed
    case operation::delete_:
    case operation::attach:
    case operation::close_io:
    case operation::resize_pty:
    case operation::update:  // runc create made the cgroup, so limits can be set before start
    case operation::stats:
    case operation::pids:
    case operation::state:
    case operation::exited:
      return std::nullopt;
    case operation::kill:
      // The init process exists (waiting in runc init); an exec process gets a pid only when
      // start runs `runc exec`, so there is nothing to signal yet.
      if (kind == process_kind::init) return std::nullopt;
      return here;
    case operation::pause:
    case operation::resume:
    case operation::exec:  // like docker: exec needs a started task (create → start → exec)
    case operation::checkpoint:
      return here;
  }
  return here;
}

status created_state::next(operation op) {
  switch (op) {
    case operation::start:
      return status::running;
    case operation::delete_:
      return status::deleted;
    case operation::exited:
      return status::stopped;
    default:
      return id;
  }
}

// ---- created from a checkpoint ----------------------------------------------------------

std::optional<refusal> created_checkpoint_state::refuse(operation op, process_kind) {
  switch (op) {
    case operation::start:  // runs `runc restore`
    case operation::wait:
    case operation::delete_:
    case operation::kill:  // containerd allows it; no container exists before restore
    case operation::state:
    case operation::exited:
      return std::nullopt;
    // Until restore there is no container: no cgroup, no process, no console.
    case operation::pause:
    case operation::resume:
    case operation::exec:
    case operation::attach:
    case operation::close_io:
    case operation::resize_pty:
    case operation::update:
    case operation::stats:
    case operation::pids:
    case operation::checkpoint:
      return here;
  }
  return here;
}

status created_checkpoint_state::next(operation op) {
  switch (op) {
    case operation::start:
      return status::running;
    case operation::delete_:
      return status::deleted;
    case operation::exited:
      return status::stopped;
    default:
      return id;
  }
}

// ---- running ----------------------------------------------------------------------------

std::optional<refusal> running_state::refuse(operation op, process_kind) {
  switch (op) {
    case operation::pause:
    case operation::kill:
    case operation::exec:
    case operation::wait:
    case operation::attach:
    case operation::close_io:
    case operation::resize_pty:
    case operation::update:
    case operation::stats:
    case operation::pids:
    case operation::checkpoint:  // leaves it running, or it exits and the reaper says so
    case operation::state:
    case operation::exited:
      return std::nullopt;
    case operation::start:
    case operation::resume:
    case operation::delete_:  // kill it and wait for the exit first
      return here;
  }
  return here;
}

status running_state::next(operation op) {
  switch (op) {
    case operation::pause:
      return status::paused;
    case operation::exited:
      return status::stopped;
    default:
      return id;
  }
}

// ---- paused -----------------------------------------------------------------------------

std::optional<refusal> paused_state::refuse(operation op, process_kind) {
  switch (op) {
    case operation::resume:
    case operation::kill:  // SIGKILL reaches a frozen process
    case operation::wait:
    case operation::attach:
    case operation::close_io:    // I/O does not need the process to run
    case operation::resize_pty:  // (containerd allows both)
    case operation::update:
    case operation::stats:
    case operation::pids:
    case operation::checkpoint:  // CRIU freezes the container anyway; containerd allows it
    case operation::state:
    case operation::exited:
      return std::nullopt;
    case operation::start:
    case operation::pause:
    case operation::exec:  // it could not run in a frozen cgroup
    case operation::delete_:
      return here;
  }
  return here;
}

status paused_state::next(operation op) {
  switch (op) {
    case operation::resume:
      return status::running;
    case operation::exited:
      return status::stopped;
    default:
      return id;
  }
}

// ---- stopped ----------------------------------------------------------------------------

std::optional<refusal> stopped_state::refuse(operation op, process_kind) {
  switch (op) {
    case operation::wait:  // answers at once with the kept exit status
    case operation::delete_:
    case operation::state:
    case operation::exited:  // the reaper re-sends an exit until acknowledged: a no-op here
      return std::nullopt;
    case operation::kill:
      return refusal{error_code::not_found, "process already finished"};
    case operation::start:
    case operation::pause:
    case operation::resume:
    case operation::exec:
    case operation::attach:
    case operation::close_io:
    case operation::resize_pty:
    case operation::update:
    case operation::stats:
    case operation::pids:
    case operation::checkpoint:
      return here;
  }
  return here;
}

status stopped_state::next(operation op) {
  return op == operation::delete_ ? status::deleted : id;
}

// ---- deleted ----------------------------------------------------------------------------

std::optional<refusal> deleted_state::refuse(operation op, process_kind) {
  switch (op) {
    case operation::state:
      return std::nullopt;
    case operation::exited:
      // Deleting a created process kills its `runc init`; that exit arrives afterwards.
      return std::nullopt;
    default:
      // The process is gone, as it is for containerd once deleted.
      return refusal{error_code::not_found, {}};
  }
}

status deleted_state::next(operation) {
  return id;
}

// ---- the machine ------------------------------------------------------------------------

std::string_view name(operation op) {
  switch (op) {
    case operation::start:
      return "start";
    case operation::pause:
      return "pause";
    case operation::resume:
      return "resume";
    case operation::kill:
      return "kill";
    case operation::exec:
      return "exec";
    case operation::wait:
      return "wait";
    case operation::delete_:
      return "delete";
    case operation::attach:
      return "attach";
    case operation::close_io:
      return "close-io";
    case operation::resize_pty:
      return "resize-pty";
    case operation::update:
      return "update";
    case operation::stats:
      return "stats";
    case operation::pids:
      return "pids";
    case operation::checkpoint:
      return "checkpoint";
    case operation::state:
      return "state";
    case operation::exited:
      return "exited";
  }
  return "unknown";
}

std::string_view name(const process_state& s) {
  return std::visit([](const auto& st) { return st.label; }, s);
}

status of(const process_state& s) {
  return std::visit([](const auto& st) { return st.id; }, s);
}

process_state make_state(status st) {
  switch (st) {
    case status::created:
      return created_state{};
    case status::created_checkpoint:
      return created_checkpoint_state{};
    case status::running:
      return running_state{};
    case status::paused:
      return paused_state{};
    case status::stopped:
      return stopped_state{};
    case status::deleted:
      return deleted_state{};
  }
  return deleted_state{};  // not a status: treat the process as gone
}

bool task_level(operation op) {
  switch (op) {
    case operation::pause:
    case operation::resume:
    case operation::exec:
    case operation::update:
    case operation::stats:
    case operation::pids:
    case operation::checkpoint:
      return true;
    default:
      return false;
  }
}

std::optional<state_error> check(const process_state& s, process_kind kind,
                                 std::string_view task_id, std::string_view exec_id, operation op) {
  // Built only when refusing: the legal path allocates nothing.
  auto refused = [&](error_code code, std::string_view reason) {
    std::string message = "cannot ";
    message += name(op);
    message += kind == process_kind::init ? " task " : " exec ";
    if (kind == process_kind::exec) {
      message += exec_id;
      message += " of task ";
    }
    message += task_id;
    message += ": ";
    if (reason.empty()) {
      message += "it is ";
      message += name(s);
    } else {
      message += reason;
    }
    return state_error{code, std::move(message)};
  };

  // Checked before the state: the request is wrong whatever state the process is in.
  if (kind == process_kind::exec && task_level(op)) {
    std::string reason{name(op)};
    reason += " acts on the whole task, not on one exec process";
    return refused(error_code::failed_precondition, reason);
  }
  auto r = std::visit([&](const auto& st) { return st.refuse(op, kind); }, s);
  if (!r) return std::nullopt;
  return refused(r->code, r->reason);
}

process_state after(const process_state& s, operation op) {
  return make_state(std::visit([&](const auto& st) { return st.next(op); }, s));
}

}  // namespace berth::shim
