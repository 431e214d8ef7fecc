// One shim task over the fake host (fake_host.hpp), in a temp bundle, with
// an event sink that records what the task publishes: the task's logic as
// the daemon sees it, without root, runc or a container.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <kj/async-io.h>

#include "shim/core/task.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/unit/shim/core/fake_host.hpp"

namespace berth::test {

inline constexpr const char* kTaskId = "web";

// One event as the subscriber received it.
struct seen_event {
  uint64_t sequence = 0;
  std::string topic;
  std::string exec_id;
  uint32_t pid = 0;
  int32_t code = 0;  // exit or delete status
  std::string reason;
};

// Wait statuses as waitpid reports them.
inline int exited_with(int code) {
  return W_EXITCODE(code, 0);
}
inline int killed_by(int signal) {
  return W_EXITCODE(0, signal);
}

// Writes the bundle's config.json, with or without a terminal.
void write_config(const std::string& bundle, bool terminal);

struct task_fixture {
  task_fixture();
  ~task_fixture();

  temp_dir dir{"berth-task-unit"};
  std::string bundle;  // dir/bundle, with a config.json
  std::string rootfs;  // bundle/rootfs: where create mounts
  journal log;         // runtime, mount and signal calls, in order
  std::vector<seen_event> events;
  kj::AsyncIoContext io;
  fake_runtime runtime{log};
  fake_mounter mounts{log};
  fake_signaller signals{log};
  shim::task task;

  // Runs the loop until `promise` resolves.
  template <typename T>
  T await(kj::Promise<T>&& promise) {
    return promise.wait(io.waitScope);
  }
  // Runs the loop until `done` holds; false when it still does not after `limit`.
  bool run_until(const std::function<bool()>& done, kj::Duration limit = 10 * kj::SECONDS);
  // Runs the loop for a moment: for checking that nothing more arrives.
  void settle(kj::Duration for_how_long = 100 * kj::MILLISECONDS);

  std::vector<std::string> topics() const;
  size_t count(const std::string& topic) const;
  std::vector<seen_event> of_topic(const std::string& topic) const;

  // The task's operations, run to their answer.
  shim::maybe_failure create(std::vector<shim::mount_spec> rootfs = {}, pid_t* pid = nullptr);
  shim::maybe_failure start(const std::string& exec_id = "", pid_t* pid = nullptr);
  shim::maybe_failure kill(const std::string& exec_id, int signal, bool all = false);
  shim::maybe_failure remove(const std::string& exec_id, shim::exit_record* status = nullptr);
  shim::maybe_failure exec(const std::string& exec_id, const std::string& process_json);
  shim::process_view state(const std::string& exec_id = "");

  // Creates and starts init (pid kFakePid); the test fails unless both succeed.
  void running();
};

}  // namespace berth::test
