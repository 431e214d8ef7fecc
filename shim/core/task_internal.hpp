// What the task's implementation files share: the process record and a few
// small helpers. Private to shim/core.
#pragma once

#include <fstream>
#include <string>

#include "shim/core/task.hpp"

namespace berth::shim {

using wire::ErrorCode;

struct task::process {
  std::string exec_id;  // empty: init
  process_kind kind = process_kind::init;
  process_state st = created_state{};
  pid_t pid = 0;
  std::optional<exit_record> exit;
  bool exit_drained = false;  // its output drained (or the drain timed out) after the exit
  bool exit_published = false;
  std::string process_json;  // exec only: the OCI process to run
  stdio_paths stdio;
  std::unique_ptr<process_io> io;
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> waiters;
  kj::Promise<void> draining = nullptr;
};

namespace detail {

// How long an exit waits for the process's output to drain before it is
// published anyway (a daemonized grandchild may hold the pipe open forever).
inline constexpr auto kDrainTimeout = 2 * kj::SECONDS;

inline failure to_failure(const state_error& e) {
  return {e.code == error_code::not_found ? ErrorCode::NOT_FOUND : ErrorCode::FAILED_PRECONDITION,
          e.message};
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline bool write_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << content)) return false;
  }
  return rename(tmp.c_str(), path.c_str()) == 0;
}

// A runtime command's outcome as the task answers it: the runtime's own
// words, as an internal error (the caller names the object with `about`).
inline maybe_failure as_failure(runtime_error err) {
  if (err) return failure{ErrorCode::INTERNAL, std::move(*err)};
  return std::nullopt;
}

inline kj::Promise<maybe_failure> as_failure(kj::Promise<runtime_error> run) {
  return run.then([](runtime_error err) { return as_failure(std::move(err)); });
}

// Names the object in a runtime's failure: "cannot pause task web: runc pause failed: ...".
inline maybe_failure about(maybe_failure err, const std::string& op, const std::string& id) {
  if (err) err->message = "cannot " + op + " task " + id + ": " + err->message;
  return err;
}

// The reason CRIU gives in its log (the last of its "Error (file:line): what"
// lines, probes of sub-commands left out), or empty when there is no log.
std::string criu_reason(const std::string& log_path);

}  // namespace detail
}  // namespace berth::shim
