// Reads a task's log as the shim leaves it — task.log and its rotated
// predecessors task.log.1, task.log.2, … (task_log.hpp in the shim) — from
// disk, a bounded batch at a time, never the whole history into memory:
// `tail(n)` finds the start of the last n lines by reading backwards from the
// end; `next()` then hands out whole records, oldest first, and with
// `follow` moves on to the new task.log when the shim rotates the one being
// read.
#pragma once

#include <sys/types.h>

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// One CRI line "TIME STREAM TAG TEXT". A line not in that shape is a full
// stdout line with no time.
struct log_record {
  std::string stream = "stdout";
  std::int64_t time_ns = 0;  // since the epoch; 0 when the line had no time
  bool partial = false;      // tag P: the text goes on in the next record
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_record& x) {
  return f(caf::meta::type_name("berth.log_record"), x.stream, x.time_ns, x.partial, x.text);
}

log_record parse_log_record(std::string_view line);

class task_log_reader {
 public:
  // Opens `path` and the rotated files beside it that exist.
  explicit task_log_reader(std::string path);
  ~task_log_reader();
  task_log_reader(const task_log_reader&) = delete;
  task_log_reader& operator=(const task_log_reader&) = delete;

  bool empty() const { return files_.empty(); }

  // Starts reading at the last `lines` lines (a line in progress at the end
  // counts as one; a line cut into 'P' records counts once).
  void tail(std::uint64_t lines);

  // Whole records from where reading stopped, about `max_bytes` of them,
  // skipping those older than `since_ns`; empty once everything there is now
  // was read (call again later to follow).
  std::vector<log_record> next(std::size_t max_bytes, std::int64_t since_ns = 0);

 private:
  struct file {
    int fd = -1;
    ino_t ino = 0;
  };
  bool open_rotated_current();

  std::string path_;
  std::vector<file> files_;  // oldest first
  std::size_t current_ = 0;  // the file `next` reads
  std::string pending_;      // the start of a record whose end is not read yet
};

}  // namespace berth
