// The task verbs that move bytes: `t start` (attached or -d), `t exec`,
// `t attach` and `t logs`. `berth run` reuses start_task.
#pragma once

#include <string>
#include <vector>

#include "cli/daemon_client.hpp"

namespace berth::cli {

struct start_options {
  std::string id;
  bool detach = false;
  bool tty = false;
  bool remove_task = true;  // attached: delete the task once it exited, as ctr does
};

// Creates and starts the container's task (createTask(...).task.start() in
// one round trip). Detached: returns 0 once it runs; its output goes only to
// the task log. Attached: returns the task's exit code.
int start_task(daemon_client& client, const start_options& opts);

struct exec_options {
  std::string id, exec_id, cwd;
  std::vector<std::string> env, args;
  bool detach = false;
  bool tty = false;
};

// Adds an exec process to a running task, with the container's own process
// spec (env, cwd, user, capabilities) and ARGS, as ctr exec does; starts it
// and, attached, returns its exit code once it ended and was deleted.
int exec_process(daemon_client& client, const exec_options& opts);

// Follows a running task's output (its log, replayed from the start) until
// it exits; forwards SIGINT/SIGTERM; returns its exit code.
int attach_task(daemon_client& client, const std::string& id);

// Prints the task's log (stdout lines to stdout, stderr lines to stderr);
// with `follow`, until the task exits.
struct logs_options {
  bool follow = false;
  std::int64_t tail = 0;      // the last N lines; 0: all
  std::int64_t since_ns = 0;  // lines logged at or after (ns since the epoch); 0: all
};
int task_logs(daemon_client& client, const std::string& id, const logs_options& o);

}  // namespace berth::cli
