// The per-task log: every line the init process writes to stdout or stderr,
// with the time the shim read it, in the CRI text format
//   2026-11-29T05:28:40.123456789Z stdout F hello
// (F = full line, P = partial line continued by the next record), so that
// `berth t logs` and anyone used to kubelet's logs can read it.
//
// The log rotates as kubelet's does: before a record would take the file
// past `max_size`, task.log becomes task.log.1 (task.log.1 becomes
// task.log.2, …; the oldest beyond `max_files` is removed) and a new
// task.log is opened. So the files never hold more than max_size × max_files
// bytes together. Records are never split across files: a line in progress
// is already written as 'P' records, so its first part stays in the old file
// and the rest goes on in the new one; a record longer than a whole file is
// cut into 'P' records that fit. Rotation is two or three renames on the
// shim's own thread between two reads of the pipe — the container never
// waits on it beyond that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/log_limits.hpp"

namespace berth::shim {

class task_log {
 public:
  task_log() = default;
  // Appends to `path` (created with mode 0600); what it holds counts
  // towards the first rotation.
  task_log(const std::string& path, log_limits limits);
  ~task_log();
  task_log(task_log&& other) noexcept;
  task_log& operator=(task_log&& other) noexcept;

  bool is_open() const { return fd_ >= 0; }

  // Records a chunk read from one stream. Lines are split on '\n'; a chunk's
  // unterminated tail is written as a partial ('P') record right away, so
  // nothing waits in memory for a newline that may never come.
  void write(std::string_view stream, std::string_view chunk);

  // "<path>.<n>", the n-th newest rotated file (n ≥ 1).
  static std::string rotated_name(const std::string& path, std::uint32_t n);

 private:
  void flush(std::string& out);
  void rotate();
  void open_current();

  std::string path_;
  log_limits limits_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes in the current file
};

// "2026-11-29T05:28:40.123456789Z" for now (UTC).
std::string rfc3339_now();

}  // namespace berth::shim
