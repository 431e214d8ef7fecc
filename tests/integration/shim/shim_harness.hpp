// What the shim's integration tests share: running berth-shim as a real
// process, and talking Cap'n Proto to it over its real unix socket.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <functional>
#include <string>
#include <vector>

#include "schema/shim.capnp.h"

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
bool eventually(const std::function<bool()>& pred, int timeout_ms = 5000);

}  // namespace berth::test
