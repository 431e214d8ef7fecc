// The state machine of one process the shim supervises: the task's init process or one of
// its exec processes. Pure logic, no I/O: the task service asks check() before it runs
// runc, and moves the process to after() once runc succeeded. The rules follow containerd's
// runc shim; README.md beside this file lists them as a table, with the choices made here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace berth::shim {

enum class process_kind { init, exec };

// What the task service can ask of a process, plus `exited`: the reaper saw it exit.
// Task-level operations (pause, resume, exec, update, stats, pids, checkpoint) are asked of
// the init process; an exec process refuses them in every state.
enum class operation {
  start,
  pause,
  resume,
  kill,
  exec,  // add an exec process to the task
  wait,
  delete_,  // `delete` is a keyword
  close_io,
  attach,
  resize_pty,
  update,
  stats,
  pids,
  checkpoint,
  state,
  exited,
};

inline constexpr std::array all_operations{
    operation::start,  operation::pause,      operation::resume,  operation::kill,
    operation::exec,   operation::wait,       operation::delete_, operation::close_io,
    operation::attach, operation::resize_pty, operation::update,  operation::stats,
    operation::pids,   operation::checkpoint, operation::state,   operation::exited,
};

// The ordinals of the wire's TaskStatus (schema/types.capnp). Its `unknown` (0) is absent on
// purpose: every process state has a known status.
enum class status : std::uint8_t {
  created = 1,
  running = 2,
  paused = 3,
  stopped = 4,
  created_checkpoint = 5,
  deleted = 6,
};

enum class error_code { failed_precondition, not_found };  // mapped onto the wire later

struct state_error {
  error_code code;
  std::string message;  // "cannot <operation> <object>: <reason>"
  friend bool operator==(const state_error&, const state_error&) = default;
};

// Why a state refuses an operation. An empty reason reads "it is <state>".
struct refusal {
  error_code code = error_code::failed_precondition;
  std::string_view reason;
};

// One type per state. refuse() says whether an operation is legal here (nullopt) for a process
// of that kind; next() names the state the process is in once a legal operation succeeded
// (its own state when the operation is not a transition).

// After `runc create`: the init process waits in `runc init`; an exec process is only recorded.
struct created_state {
  static constexpr std::string_view label = "created";
  static constexpr status id = status::created;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const created_state&) const = default;
};

// Created from a checkpoint: nothing runs until start restores it.
struct created_checkpoint_state {
  static constexpr std::string_view label = "created-checkpoint";
  static constexpr status id = status::created_checkpoint;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const created_checkpoint_state&) const = default;
};

struct running_state {
  static constexpr std::string_view label = "running";
  static constexpr status id = status::running;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const running_state&) const = default;
};

struct paused_state {
  static constexpr std::string_view label = "paused";
  static constexpr status id = status::paused;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const paused_state&) const = default;
};

// Exited; the exit status is kept until delete.
struct stopped_state {
  static constexpr std::string_view label = "stopped";
  static constexpr status id = status::stopped;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const stopped_state&) const = default;
};

// `runc delete` ran: the process is gone and only its state can still be read.
struct deleted_state {
  static constexpr std::string_view label = "deleted";
  static constexpr status id = status::deleted;
  static std::optional<refusal> refuse(operation op, process_kind kind);
  static status next(operation op);
  bool operator==(const deleted_state&) const = default;
};

using process_state = std::variant<created_state, created_checkpoint_state, running_state,
                                   paused_state, stopped_state, deleted_state>;

std::string_view name(operation op);          // "start", "close-io", ...
std::string_view name(const process_state&);  // "running", "created-checkpoint", ...
status of(const process_state&);
process_state make_state(status);

// True for the operations that act on the whole task and so are asked of the init process.
bool task_level(operation op);

// nullopt when `op` is legal for this process in state `s`. exec_id is only read for an exec
// process; it and task_id only name the process in the message.
std::optional<state_error> check(const process_state& s, process_kind kind,
                                 std::string_view task_id, std::string_view exec_id, operation op);

// The state once `op` succeeded. Precondition: check() passed. An operation the state itself
// refuses leaves `s` as it is.
process_state after(const process_state& s, operation op);

}  // namespace berth::shim
