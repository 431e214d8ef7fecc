// One task as the shim sees it: the init process and its exec processes,
// each with its state (shim/process), its I/O and its exit. Every operation
// checks the state machine first, runs the OCI runtime without blocking
// (task_host.hpp: the runtime, mount and kill are the host's, so tests can
// fake them), and only then moves the process to its next state. Exits of
// container processes come in through `reaped`. Results are values: an
// operation yields a `failure` (wire code + message) or its output.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/timer.h>

#include "schema/types.capnp.h"
#include "shim/core/event_publisher.hpp"
#include "shim/core/oom_watcher.hpp"
#include "shim/core/process_io.hpp"
#include "shim/core/task_host.hpp"
#include "shim/core/task_log.hpp"
#include "shim/process/process_state.hpp"

namespace berth::shim {

struct failure {
  wire::ErrorCode code;
  std::string message;
};
using maybe_failure = std::optional<failure>;

struct exit_record {
  int code = 0;
  int signal = 0;
  int64_t exited_at = 0;
  std::string reason;
};

struct mount_spec {
  std::string type, source;
  std::vector<std::string> options;
};

struct task_config {
  std::string ns, id, bundle, state_dir;
};

struct process_view {
  std::string exec_id;
  pid_t pid = 0;
  status st = status::created;
  stdio_paths stdio;
  std::optional<exit_record> exit;
};

struct process_entry {
  int pid = 0;
  std::string exec_id;
  std::string command;  // its argv joined by spaces, from /proc; empty once it is gone
};

class task {
 public:
  task(kj::AsyncIoContext& io, task_config cfg, task_host host);
  ~task();
  task(const task&) = delete;
  task& operator=(const task&) = delete;

  const task_config& config() const { return cfg_; }
  event_publisher& events() { return events_; }

  // `logs` bounds <bundle>/task.log (zero fields: the defaults). With
  // `start`, the init process is started too, by one runtime process
  // (oci_runtime::run_detached): create and start events are both published.
  kj::Promise<maybe_failure> create(stdio_paths stdio, std::vector<mount_spec> rootfs,
                                    std::string checkpoint, pid_t& pid_out, log_limits logs = {},
                                    bool start = false);
  kj::Promise<maybe_failure> start(std::string exec_id, pid_t& pid_out);
  maybe_failure state(const std::string& exec_id, process_view& out) const;
  kj::Promise<maybe_failure> pids(std::vector<process_entry>& out);
  kj::Promise<maybe_failure> pause();
  kj::Promise<maybe_failure> resume();
  kj::Promise<maybe_failure> kill(std::string exec_id, int signal, bool all);
  maybe_failure exec(std::string exec_id, std::string process_json, stdio_paths stdio);
  kj::Promise<maybe_failure> wait(std::string exec_id, exit_record& out);
  kj::Promise<maybe_failure> remove(std::string exec_id, pid_t& pid_out, exit_record& out);
  maybe_failure close_io(const std::string& exec_id);
  // Reconnects a process's streams; `stdin_open` says whether input reaches it.
  maybe_failure attach(const std::string& exec_id, const stdio_paths& to, bool& stdin_open);
  maybe_failure resize_pty(const std::string& exec_id, unsigned width, unsigned height);
  kj::Promise<maybe_failure> update(std::string resources_json);
  maybe_failure stats(wire::Stats::Builder out) const;
  kj::Promise<maybe_failure> checkpoint(std::string path, bool exit);
  maybe_failure shutdown(bool now);

  // A container process (or one it left behind) was reaped with this wait
  // status. Exits of pids not known yet are kept until their pid is.
  void reaped(pid_t pid, int status);

  pid_t init_pid() const;
  bool has_live_process() const;
  // Resolves when the shim should exit (shutdown accepted).
  kj::Promise<void> when_shutdown() { return shutdown_promise_.addBranch(); }
  // Resolves once the runtime's delete that remove() left running is done
  // (at once when there is none): the process must live until then.
  kj::Promise<void> when_released();

 private:
  struct process;
  process* find(const std::string& exec_id);
  const process* find(const std::string& exec_id) const;
  failure missing(const std::string& exec_id) const;
  kj::Promise<maybe_failure> freeze(operation op);
  maybe_failure check(const process& p, operation op) const;
  void apply(process& p, status before, operation op);

  kj::Promise<maybe_failure> create_released(stdio_paths stdio, std::vector<mount_spec> rootfs,
                                             pid_t& pid_out, log_limits logs, bool start);
  void finish_remove(status before, pid_t& pid_out, exit_record& out);
  void release_in_background();
  void handle_exit(process& p, int status);
  void publish_exit(process& p);
  void maybe_publish_init_exit();
  void write_exit_file(const exit_record& e);
  std::optional<std::string> mount_rootfs(const std::vector<mount_spec>& mounts);
  void unmount_rootfs();
  std::string console_socket_path() const;

  kj::AsyncIoContext& io_;
  task_config cfg_;
  task_host host_;
  event_publisher events_;
  task_log log_;
  std::unique_ptr<process> init_;
  std::map<std::string, std::unique_ptr<process>> execs_;
  std::map<pid_t, int> unclaimed_exits_;  // container pids reaped before we knew them
  std::unique_ptr<oom_watcher> oom_;
  bool rootfs_mounted_ = false;
  bool shutting_down_ = false;
  bool init_starting_ = false;     // `runc start` runs: init's exit waits for the start event
  bool awaiting_release_ = false;  // create waits for an earlier same-id container to go
  kj::Maybe<kj::ForkedPromise<void>> released_;  // the runtime's delete left running
  kj::Own<kj::PromiseFulfiller<void>> shutdown_fulfiller_;
  kj::ForkedPromise<void> shutdown_promise_;
  struct log_errors : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override;
  } log_errors_;
  kj::TaskSet background_;
};

}  // namespace berth::shim
