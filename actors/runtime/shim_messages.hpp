// The messages a shim_proxy answers and sends, as plain structs. They mirror
// schema/shim.capnp's requests and responses, so the shim's Task interface can
// be driven as a remote actor: each struct has a CAF `inspect` and is announced
// by add_runtime_types(), so it can also cross a process boundary through the
// CAF middleman. Requests name no task: a proxy speaks for exactly one.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

// A process's status as the shim reports it; values are wire::TaskStatus
// ordinals (checked in shim_messages.cpp).
enum class shim_status : std::uint8_t {
  unknown = 0,
  created,
  running,
  paused,
  stopped,
  created_checkpoint,
  deleted,
};

const char* to_string(shim_status status);

// Where a process's standard streams go: FIFO or file paths on the shim's
// host, empty for /dev/null.
struct stdio_paths {
  std::string in;
  std::string out;
  std::string err;
  bool terminal = false;
  bool open_stdin = false;  // no `in`: a stdin pipe kept open for a later attach
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stdio_paths& x) {
  return f(caf::meta::type_name("berth.stdio_paths"), x.in, x.out, x.err, x.terminal, x.open_stdin);
}

// One OCI mount the shim makes at bundle/rootfs before `runc create`.
struct mount_spec {
  std::string type;
  std::string source;
  std::string destination;
  std::vector<std::string> options;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mount_spec& x) {
  return f(caf::meta::type_name("berth.mount_spec"), x.type, x.source, x.destination, x.options);
}

// How a process ended: code is the exit code, or 128 + signal.
struct exit_status {
  std::int32_t code = 0;
  std::int32_t signal = 0;
  caf::timestamp exited_at{};
  std::string reason;  // set when berth, not the process, decided the status
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exit_status& x) {
  return f(caf::meta::type_name("berth.exit_status"), x.code, x.signal, x.exited_at, x.reason);
}

// ---- requests (one per Task method) and their replies -----------------------

// -> shim_info. Connects (or reconnects after a lost connection) first.
struct shim_connect {};
struct shim_info {
  std::uint32_t shim_pid = 0;
  std::uint32_t task_pid = 0;
  std::string version;
};

// -> std::uint32_t, the init process's pid.
struct shim_create {
  std::string bundle;
  stdio_paths stdio;
  std::vector<mount_spec> rootfs;
  std::string checkpoint;           // restore from this directory instead of creating fresh
  std::uint64_t log_max_size = 0;   // task log bytes per file; 0: the shim's default
  std::uint32_t log_max_files = 0;  // task log files kept; 0: the shim's default
  bool start = false;  // start init too, in one runtime process -> the running init's pid
};

// -> std::uint32_t pid. An empty exec_id means the init process (also below).
struct shim_start {
  std::string exec_id;
};

// -> process_state
struct shim_state {
  std::string exec_id;
};
struct process_state {
  std::string id;
  std::string exec_id;
  std::string bundle;
  std::uint32_t pid = 0;
  shim_status status = shim_status::unknown;
  stdio_paths stdio;
  exit_status exit;  // meaningful once stopped
};

// -> std::vector<process_info>
struct shim_pids {};
struct process_info {
  std::uint32_t pid = 0;
  std::string exec_id;
  std::string command;
};

// -> void (also pause, resume, kill, exec, close_io, resize_pty, update,
// checkpoint, shutdown, subscribe)
struct shim_pause {};
struct shim_resume {};
struct shim_kill {
  std::string exec_id;
  std::uint32_t signal = 15;
  bool all = false;  // every process in the container
};
struct shim_exec {
  std::string exec_id;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd;
  stdio_paths stdio;
  std::string oci_process_json;  // optional: a full OCI process object instead of the above
};

// -> exit_status. Has no deadline: it answers when the process exits.
struct shim_wait {
  std::string exec_id;
};

// -> deleted_process
struct shim_delete {
  std::string exec_id;
};
struct deleted_process {
  std::uint32_t pid = 0;
  exit_status status;
};

struct shim_shutdown {
  bool now = false;  // exit even with live processes (they are killed)
};

// Closes a process's stdin so it reads EOF. `stdin` mirrors the wire flag;
// berth-shim closes stdin whether or not it is set, stdin being the only
// stream it can close. (`stdin` is also a <cstdio> macro; glibc defines it as
// itself, so the member name, chosen to match the wire, compiles.)
struct shim_close_io {
  std::string exec_id;
  bool stdin = false;
};

// Reconnects a live process's streams to new FIFOs -> bool: whether its
// stdin still takes input.
struct shim_attach {
  std::string exec_id;
  stdio_paths stdio;
};

// Sets the window size of a process's terminal; the shim refuses a process
// without one (failed_precondition).
struct shim_resize_pty {
  std::string exec_id;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

// The container's resource limits, as wire::Resources: zero leaves a limit
// unchanged.
struct resource_limits {
  std::int64_t memory_limit = 0;  // bytes
  std::int64_t cpu_quota = 0;     // microseconds per cpu_period
  std::uint64_t cpu_period = 0;
  std::uint64_t cpu_shares = 0;
  std::int64_t pids_limit = 0;
};

// Changes the container's limits (`runc update`).
struct shim_update {
  resource_limits resources;
};

// -> task_stats, read from the task's cgroup.
struct shim_stats {};
struct task_stats {
  std::uint64_t memory_usage = 0;  // bytes
  std::uint64_t memory_limit = 0;  // bytes; 0 when unlimited
  std::uint64_t cpu_usage_ns = 0;
  std::uint64_t pids_current = 0;
  std::uint64_t pids_limit = 0;  // 0 when unlimited
};

// `runc checkpoint` into `path` (absolute; it receives the CRIU image).
// Without `exit` the task keeps running afterwards. Where CRIU cannot work
// the shim answers unavailable with CRIU's reason.
struct shim_checkpoint {
  std::string path;
  bool exit = false;
};

// Asks the shim to publish its events to the proxy's subscriber; events
// numbered <= after_sequence count as seen. Replaces an earlier subscription.
struct shim_subscribe {
  std::uint64_t after_sequence = 0;
};

// ---- what the subscriber receives -------------------------------------------

// The union arm of a wire::Event, flattened.
enum class shim_event_kind : std::uint8_t {
  other = 0,  // an arm the proxy does not know; topic tells what it is
  task_create,
  task_start,
  task_exit,
  task_oom,
  task_paused,
  task_resumed,
  task_delete,
  task_exec_added,
  task_exec_started,
};

// One event from the shim, in the shim's order, with the shim's sequence
// number (a re-sent event keeps its number, so a repeat is recognisable).
struct shim_event {
  std::uint64_t sequence = 0;
  std::string ns;
  std::string id;
  caf::timestamp time{};
  std::string topic;  // "/tasks/exit", ...
  shim_event_kind kind = shim_event_kind::other;
  std::string exec_id;    // exit, exec-added, exec-started
  std::uint32_t pid = 0;  // create, start, exit, delete, exec-started
  std::string bundle;     // create
  exit_status status;     // exit, delete
};

// Sent to the subscriber once when the connection to the shim is lost.
struct shim_lost {
  std::string ns;
  std::string id;
  std::string reason;
};

// ---- inspect ----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_connect&) {
  return f(caf::meta::type_name("berth.shim_connect"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_pids&) {
  return f(caf::meta::type_name("berth.shim_pids"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_pause&) {
  return f(caf::meta::type_name("berth.shim_pause"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_resume&) {
  return f(caf::meta::type_name("berth.shim_resume"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_info& x) {
  return f(caf::meta::type_name("berth.shim_info"), x.shim_pid, x.task_pid, x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_create& x) {
  return f(caf::meta::type_name("berth.shim_create"), x.bundle, x.stdio, x.rootfs, x.checkpoint,
           x.log_max_size, x.log_max_files, x.start);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_start& x) {
  return f(caf::meta::type_name("berth.shim_start"), x.exec_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_state& x) {
  return f(caf::meta::type_name("berth.shim_state"), x.exec_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_state& x) {
  return f(caf::meta::type_name("berth.process_state"), x.id, x.exec_id, x.bundle, x.pid, x.status,
           x.stdio, x.exit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_info& x) {
  return f(caf::meta::type_name("berth.process_info"), x.pid, x.exec_id, x.command);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_kill& x) {
  return f(caf::meta::type_name("berth.shim_kill"), x.exec_id, x.signal, x.all);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_exec& x) {
  return f(caf::meta::type_name("berth.shim_exec"), x.exec_id, x.args, x.env, x.cwd, x.stdio,
           x.oci_process_json);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_wait& x) {
  return f(caf::meta::type_name("berth.shim_wait"), x.exec_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_delete& x) {
  return f(caf::meta::type_name("berth.shim_delete"), x.exec_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deleted_process& x) {
  return f(caf::meta::type_name("berth.deleted_process"), x.pid, x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_shutdown& x) {
  return f(caf::meta::type_name("berth.shim_shutdown"), x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_subscribe& x) {
  return f(caf::meta::type_name("berth.shim_subscribe"), x.after_sequence);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_close_io& x) {
  return f(caf::meta::type_name("berth.shim_close_io"), x.exec_id, x.stdin);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_attach& x) {
  return f(caf::meta::type_name("berth.shim_attach"), x.exec_id, x.stdio);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_resize_pty& x) {
  return f(caf::meta::type_name("berth.shim_resize_pty"), x.exec_id, x.width, x.height);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_limits& x) {
  return f(caf::meta::type_name("berth.resource_limits"), x.memory_limit, x.cpu_quota, x.cpu_period,
           x.cpu_shares, x.pids_limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_update& x) {
  return f(caf::meta::type_name("berth.shim_update"), x.resources);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_stats&) {
  return f(caf::meta::type_name("berth.shim_stats"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_stats& x) {
  return f(caf::meta::type_name("berth.task_stats"), x.memory_usage, x.memory_limit, x.cpu_usage_ns,
           x.pids_current, x.pids_limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_checkpoint& x) {
  return f(caf::meta::type_name("berth.shim_checkpoint"), x.path, x.exit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_event& x) {
  return f(caf::meta::type_name("berth.shim_event"), x.sequence, x.ns, x.id, x.time, x.topic,
           x.kind, x.exec_id, x.pid, x.bundle, x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shim_lost& x) {
  return f(caf::meta::type_name("berth.shim_lost"), x.ns, x.id, x.reason);
}

// Announces every type above, the runtime and proxy actor handles, and the
// berth error category.
void add_runtime_types(caf::actor_system_config& cfg);

}  // namespace berth
