// What the shim's integration tests share: running berth-shim as a real
// process, and talking Cap'n Proto to it over its real unix socket.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <functional>
#include <string>
#include <vector>

#include "schema/shim.capnp.h"
#include "tests/support/busybox_bundle.hpp"

namespace berth::test {

struct command_result {
  int exit_code = -1;
  std::string out, err;
};

// Runs argv to completion and captures its output.
command_result run_command(const std::vector<std::string>& argv);

// Path of a binary built in this tree, e.g. build_path("shim/berth-shim").
std::string build_path(const std::string& relative);
std::string source_path(const std::string& relative);

struct shim_args {
  std::string ns = "default";
  std::string id;
  std::string bundle;
  std::string state_dir;  // defaults to bundle
  std::string runtime = "runc";
};

// `berth-shim start ...`; the address (unix:PATH) is in out on success.
command_result start_shim(const shim_args& a);
// `berth-shim delete ...`
command_result delete_shim(const shim_args& a);

// One client connection to a shim. Owns its KJ event loop; one per test.
class shim_client {
 public:
  explicit shim_client(const std::string& address);  // "unix:/path" or a path
  ~shim_client();

  wire::shim::Task::Client& task() { return task_; }
  kj::WaitScope& wait_scope() { return io_.waitScope; }
  kj::AsyncIoContext& io() { return io_; }
  void reconnect(const std::string& address);
  void disconnect();
  // Runs this client's event loop (so capabilities it serves, an EventSink,
  // get their calls) until pred() or the deadline; returns pred()'s last value.
  bool pump_until(const std::function<bool()>& pred, int timeout_ms = 30000);
  // Runs the event loop for `ms` milliseconds.
  void pump(int ms);

 private:
  kj::AsyncIoContext io_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  wire::shim::Task::Client task_ = nullptr;
};

// Pid of the shim from <state_dir>/shim.pid, or 0.
int shim_pid(const std::string& state_dir);
bool process_alive(int pid);
std::string read_text(const std::string& path);
// Polls until pred() or the deadline; returns pred()'s last value.
bool eventually(const std::function<bool()>& pred, int timeout_ms = 30000);
// Pids whose parent is `pid` and that are zombies (exited, not reaped).
std::vector<int> zombie_children(int pid);
// True when `runc state ID` knows the container (the default runc root).
bool runc_knows(const std::string& id);

// A shim started for one test on a fresh busybox bundle in its own temp dir
// (the bundle is dir/bundle; a relative state_dir is taken inside dir, an
// empty one means the bundle).
// Throws std::runtime_error with the shim's message when it cannot start. The
// destructor runs `berth-shim delete`, so nothing stays behind when a test
// fails half way.
struct test_shim {
  temp_dir dir{"berth-shim-test"};
  shim_args args;
  std::string address;  // "unix:/path"

  explicit test_shim(const std::string& id, const bundle_options& opts = {},
                     const std::string& runtime = "runc", const std::string& state_dir = "");
  ~test_shim();
  test_shim(const test_shim&) = delete;
  test_shim& operator=(const test_shim&) = delete;
};

// ---- one call each: send a request, wait for the answer --------------------

using Task = wire::shim::Task;

// How long a call waits for the shim's answer before it throws.
inline constexpr kj::Duration kCallDeadline = 60 * kj::SECONDS;

// Waits for a sent call's answer, but not forever: a shim that never answers
// fails the test with the call's name instead of hanging it until ctest's
// timeout. `answer(c, req.send(), "stats")`.
template <typename Results>
capnp::Response<Results> answer(shim_client& c, capnp::RemotePromise<Results> sent,
                                const char* call) {
  kj::Promise<capnp::Response<Results>> promise = kj::mv(sent);
  auto deadline =
      c.io()
          .provider->getTimer()
          .afterDelay(kCallDeadline)
          .then([call]() -> capnp::Response<Results> {
            kj::throwFatalException(KJ_EXCEPTION(FAILED, "no answer from the shim in time", call));
          });
  return promise.exclusiveJoin(kj::mv(deadline)).wait(c.wait_scope());
}

// Every field has an initializer, so designated initializers ({.out = p})
// compile clean under -Wextra.
struct stdio_spec {
  std::string in{};
  std::string out{};
  std::string err{};
  bool terminal = false;
  bool open_stdin = false;
};

namespace rpc {
capnp::Response<Task::CreateResults> create(shim_client& c, const std::string& id,
                                            const std::string& bundle, const stdio_spec& io = {});
capnp::Response<Task::StartResults> start(shim_client& c, const std::string& exec_id = "");
capnp::Response<Task::StateResults> state(shim_client& c, const std::string& exec_id = "");
capnp::Response<Task::KillResults> kill(shim_client& c, int signal, const std::string& exec_id = "",
                                        bool all = false);
capnp::Response<Task::ExecResults> exec(shim_client& c, const std::string& exec_id,
                                        const std::vector<std::string>& args,
                                        const stdio_spec& io = {});
capnp::Response<Task::WaitResults> wait(shim_client& c, const std::string& exec_id = "");
capnp::Response<Task::DeleteResults> remove(shim_client& c, const std::string& exec_id = "");
capnp::Response<Task::PauseResults> pause(shim_client& c);
capnp::Response<Task::ResumeResults> resume(shim_client& c);
capnp::Response<Task::ShutdownResults> shutdown(shim_client& c, bool now = false);
}  // namespace rpc

// The error of a response as a test reads it: code OK and no message when
// the call succeeded.
struct call_error {
  wire::ErrorCode code = wire::ErrorCode::OK;
  std::string message;
};

template <typename Reader>
call_error error_of(Reader resp) {
  if (!resp.hasError()) return {};
  return {resp.getError().getCode(), resp.getError().getMessage()};
}

// "failedPrecondition", "ok", ... (the schema's names).
std::string code_name(wire::ErrorCode code);

}  // namespace berth::test
