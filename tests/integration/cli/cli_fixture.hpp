// One real berthd per test program (real berth-shim, real runc), started on
// first use on a throwaway root and state and stopped at exit; `b(...)` runs
// the real berth binary against it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "berth_runner.hpp"
#include "tests/support/berthd_process.hpp"

namespace berth::test {

inline berthd_process& daemon() {
  static berthd_process d;
  return d;
}

inline berth_result b(std::vector<std::string> args) {
  return run_berth_at(daemon().address(), std::move(args));
}

// A busybox root filesystem for --rootfs; any image name goes with it.
inline std::string rootfs() {
  return daemon().rootfs();
}
inline constexpr const char* kImage = "local/busybox:latest";

// A container id no other test of this program uses.
inline std::string unique_id(const std::string& prefix) {
  static std::atomic<int> next{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(next++);
}

// `berth c create --rootfs R local/busybox ID ARGS…` must succeed.
inline std::vector<std::string> create_args(const std::string& id,
                                            std::vector<std::string> command) {
  std::vector<std::string> args = {"c", "create", "--rootfs", rootfs(), kImage, id};
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

// Waits until a background `berth events` receives events: creates and
// removes probe containers, once a second, until one shows in its output
// (30 s at most). A subscription has no "ready" line to wait for, and a
// fixed sleep would lose the first event on a loaded machine.
inline bool subscribed(background_berth& events) {
  for (int i = 0; i < 30; ++i) {
    auto probe = unique_id("probe");
    run_berth_at(daemon().address(), create_args(probe, {"true"}));
    run_berth_at(daemon().address(), {"c", "rm", probe});
    if (events.read_until(probe, std::chrono::seconds(1))) return true;
  }
  return false;
}

// True when a line of `table` starts with `first` and contains `word`.
inline bool has_row(const std::string& table, const std::string& first, const std::string& word) {
  size_t pos = 0;
  while (pos < table.size()) {
    size_t end = table.find('\n', pos);
    if (end == std::string::npos) end = table.size();
    std::string line = table.substr(pos, end - pos);
    if (line.rfind(first + " ", 0) == 0 && line.find(word) != std::string::npos) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace berth::test
