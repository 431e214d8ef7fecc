// The per-task log: every line the init process writes to stdout or stderr,
// with the time the shim read it, in the CRI text format
//   2026-11-29T05:28:40.123456789Z stdout F hello
// (F = full line, P = partial line continued by the next record), so that
// `berth t logs` and anyone used to kubelet's logs can read it.
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

class task_log {
 public:
  task_log() = default;
  explicit task_log(const std::string& path);  // appends; creates with mode 0600
  ~task_log();
  task_log(task_log&& other) noexcept;
  task_log& operator=(task_log&& other) noexcept;

  bool is_open() const { return fd_ >= 0; }

  // Records a chunk read from one stream. Lines are split on '\n'; a chunk's
  // unterminated tail is written as a partial ('P') record right away, so
  // nothing waits in memory for a newline that may never come.
  void write(std::string_view stream, std::string_view chunk);

 private:
  int fd_ = -1;
};

// "2026-11-29T05:28:40.123456789Z" for now (UTC).
std::string rfc3339_now();

}  // namespace berth::shim
