// An attached process, from started to exited: its output copied to ours,
// our stdin to it (EOF becoming closeIo), SIGINT and SIGTERM forwarded as
// kill, SIGWINCH as resizePty, then wait. Shared by `t start`, `run` and
// `t exec`, which differ only in how the process is created.
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include "cli/attached_io.hpp"
#include "cli/daemon_client.hpp"

namespace berth::cli {

// What an attached verb's daemon_client must capture.
inline const std::vector<int> kAttachedSignals = {SIGINT, SIGTERM, SIGWINCH};

// Sends our terminal's size to the process's pty (pipelined; the answer
// is not awaited: a process without a pty just says so).
kj::Promise<void> send_window_size(wire::api::Task::Client task, const std::string& exec_id);

// Runs an attached, started process to its end and returns its exit code
// (128+N when killed by signal N). `what` names it in errors ("task web").
// `io.start_output()` should already run; this starts input. With a
// terminal, the caller has made ours raw (raw_terminal) before the process
// started, so its first output is not translated twice.
int attach_until_exit(daemon_client& client, wire::api::Task::Client task, attached_io& io,
                      const std::string& exec_id, bool terminal, const std::string& what);

}  // namespace berth::cli
