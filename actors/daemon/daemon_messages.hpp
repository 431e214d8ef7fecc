// The requests the registry, container and task actors accept, and their
// replies, as plain structs. Each has a CAF `inspect` and is announced by
// add_berth_types() (berth.hpp), so it can cross a process boundary through
// the CAF middleman like any other message.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/daemon/host_devices.hpp"
#include "actors/runtime/shim_messages.hpp"
#include "actors/store/records.hpp"

namespace berth {

// What `berth c create` adds to an image's own configuration.
struct container_options {
  std::vector<std::string> args;  // replace the image's cmd when not empty
  std::vector<std::string> env;   // "K=V", added to the image's
  std::string cwd;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string user;  // a name or "uid:gid" still to resolve; empty when uid/gid are set
  bool terminal = false;
  std::vector<mount_spec> mounts;
  std::string rootfs;  // an absolute, prepared directory used instead of an image snapshot
  bool net_host = false;
  bool readonly_rootfs = false;
  std::int64_t memory_limit = 0;        // bytes, 0 for none
  double cpus = 0;                      // 0 for no limit
  std::string hostname;                 // the container's id when empty
  std::string seccomp;                  // "" (the default profile) or "unconfined"
  bool privileged = false;              // every capability and device, no seccomp, no masked paths
  std::int64_t pids_limit = 0;          // 0: the registry's default; -1: none
  std::int64_t log_max_size = 0;        // task log bytes per file; 0: the daemon's default
  std::int64_t log_max_files = 0;       // task log files kept; 0: the daemon's default
  std::vector<std::string> cap_add;     // capability names or ALL (capability_sets.hpp)
  std::vector<std::string> cap_drop;    // the same
  std::vector<device_mapping> devices;  // host devices, as asked
  // The devices as the registry found them on the host, one per entry of
  // `devices` and in its order; never taken from a request.
  std::vector<host_device> host_devices;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_options& x) {
  return f(caf::meta::type_name("berth.container_options"), x.args, x.env, x.cwd, x.uid, x.gid,
           x.additional_gids, x.user, x.terminal, x.mounts, x.rootfs, x.net_host, x.readonly_rootfs,
           x.memory_limit, x.cpus, x.hostname, x.seccomp, x.privileged, x.pids_limit,
           x.log_max_size, x.log_max_files, x.cap_add, x.cap_drop, x.devices, x.host_devices);
}

// Registry: records a container (nothing runs). An empty runtime means the
// daemon's default.
struct container_create {
  std::string ns;
  std::string id;
  std::string image;
  std::string runtime;
  label_map labels;
  container_options options;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_create& x) {
  return f(caf::meta::type_name("berth.container_create"), x.ns, x.id, x.image, x.runtime, x.labels,
           x.options);
}

// Registry: merges labels into a container's (an empty value removes a key).
struct container_update {
  std::string ns;
  std::string id;
  label_map labels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_update& x) {
  return f(caf::meta::type_name("berth.container_update"), x.ns, x.id, x.labels);
}

// Registry: creates the container's task (starts a shim, `runc create`).
struct task_create {
  std::string ns;
  std::string id;
  stdio_paths stdio;
  std::string checkpoint;  // restore from this directory
  // Start the init process as well: one runtime process instead of two
  // (`runc run --detach`); the task is running when the answer comes.
  bool start = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_create& x) {
  return f(caf::meta::type_name("berth.task_create"), x.ns, x.id, x.stdio, x.checkpoint, x.start);
}

// A task or one of its exec processes, as the task actor knows it; answered
// without asking the shim.
struct task_info {
  std::string ns;
  std::string id;
  std::string exec_id;  // empty for the task's init process
  std::uint32_t pid = 0;
  task_status status = task_status::unknown;
  exit_status exit;  // meaningful once stopped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_info& x) {
  return f(caf::meta::type_name("berth.task_info"), x.ns, x.id, x.exec_id, x.pid, x.status, x.exit);
}

// Task: deletes the task (empty exec_id) or one exec process. `force` kills
// a live init process first.
struct task_delete {
  std::string exec_id;
  bool force = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_delete& x) {
  return f(caf::meta::type_name("berth.task_delete"), x.exec_id, x.force);
}

// The task's own operations are the shim's requests under task names: the
// task actor decides whether one is legal in its state, then forwards it.
using task_start = shim_start;            // -> pid
using task_state = shim_state;            // -> task_info
using task_pids = shim_pids;              // -> std::vector<process_info>
using task_pause = shim_pause;            // -> void
using task_resume = shim_resume;          // -> void
using task_kill = shim_kill;              // -> void
using task_exec = shim_exec;              // -> void
using task_wait = shim_wait;              // -> exit_status
using task_close_io = shim_close_io;      // -> void
using task_attach = shim_attach;          // -> bool (stdin still open)
using task_resize_pty = shim_resize_pty;  // -> void
using task_update = shim_update;          // -> void
using task_metrics = shim_stats;          // -> task_stats
using task_checkpoint = shim_checkpoint;  // -> void

}  // namespace berth
