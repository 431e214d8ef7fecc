// What the shim benchmarks share: environment, interruption, statistics,
// and checking Cap'n Proto responses.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth::bench {

// Points the shim harness at this build tree and source tree unless
// BERTH_BUILD_DIR / BERTH_SOURCE_DIR are set, and makes SIGINT, SIGTERM and
// SIGHUP set a flag (see interrupted()) instead of killing the benchmark, so
// it can stop at the next step and clean up what it started.
void setup(const char* program);
bool interrupted();
// Throws when interrupted(): call between steps.
void check_interrupted();

// Milliseconds since `since`.
inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

struct summary {
  size_t n = 0;
  double median = 0, p90 = 0, min = 0, max = 0, mean = 0;
};
// Median (mean of the two middle values for even n), p90 by nearest rank.
summary summarize(std::vector<double> values);

// Fixed-point text: fixed(3.14159, 2) == "3.14".
std::string fixed(double v, int decimals);

// The first line of a command's stderr (or stdout), for error messages.
std::string first_line(const std::string& text);

// A task id unique to this run, valid for berth ("bench-<pid>-<tag>").
std::string task_id(const std::string& tag);

// Waits up to timeout_ms for a process to be gone (or a zombie).
bool wait_gone(int pid, int timeout_ms);

// The runtime's version line ("runc version 1.1.5+ds1"), or "" if it cannot run.
std::string version_line(const std::string& binary);

// Throws std::runtime_error("<what>: <message>") when a shim response
// carries an error.
template <typename Resp>
void check_ok(Resp resp, const std::string& what) {
  if (resp.hasError()) {
    throw std::runtime_error(what + ": " + resp.getError().getMessage().cStr());
  }
}

}  // namespace berth::bench
