#include "actors/daemon/task_log_reader.hpp"

#include "schema/log_limits.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth {
namespace {

constexpr std::size_t kBlock = 64 * 1024;

bool is_full_record(std::string_view line) {
  // "TIME STREAM TAG …": only a P tag continues; anything else ends a line.
  auto s1 = line.find(' ');
  if (s1 == std::string_view::npos) return true;
  auto s2 = line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return true;
  return line.substr(s2 + 1, 2) != "P " && line.substr(s2 + 1) != "P";
}

}  // namespace

log_record parse_log_record(std::string_view line) {
  log_record r;
  auto s1 = line.find(' ');
  auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  auto s3 = s2 == std::string_view::npos ? s2 : line.find(' ', s2 + 1);
  auto time = s1 == std::string_view::npos ? std::nullopt : parse_rfc3339_ns(line.substr(0, s1));
  if (s3 == std::string_view::npos || !time) {
    r.text = line;
    return r;
  }
  r.time_ns = *time;
  r.stream = line.substr(s1 + 1, s2 - s1 - 1);
  r.partial = line.substr(s2 + 1, s3 - s2 - 1) == "P";
  r.text = line.substr(s3 + 1);
  return r;
}

task_log_reader::task_log_reader(std::string path) : path_(std::move(path)) {
  // Newest first, so that a rotation between two opens shows up as a file
  // already held (the same inode under the next name) rather than as a gap.
  std::vector<file> newest_first;
  for (std::uint32_t n = 0; n <= 100; ++n) {
    std::string name = n == 0 ? path_ : path_ + "." + std::to_string(n);
    int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (n == 0) continue;  // no current file (yet): older ones may still be there
      break;
    }
    struct stat st {};
    fstat(fd, &st);
    bool seen = false;
    for (auto& f : newest_first) seen = seen || f.ino == st.st_ino;
    if (seen) {
      ::close(fd);
      continue;
    }
    newest_first.push_back(file{fd, st.st_ino});
  }
  files_.assign(newest_first.rbegin(), newest_first.rend());
}

task_log_reader::~task_log_reader() {
  for (auto& f : files_)
    if (f.fd >= 0) ::close(f.fd);
}

void task_log_reader::tail(std::uint64_t lines) {
  pending_.clear();
  if (files_.empty()) return;
  if (lines == 0) {  // nothing: start at the end
    current_ = files_.size() - 1;
    ::lseek(files_[current_].fd, 0, SEEK_END);
    return;
  }
  std::uint64_t ends = 0;  // line ends seen, walking back from the end
  bool newest = true;
  for (std::size_t i = files_.size(); i-- > 0;) {
    int fd = files_[i].fd;
    struct stat st {};
    fstat(fd, &st);
    off_t pos = st.st_size;
    std::string carry;  // the bytes after the last newline seen: one record's start, at most
    while (pos > 0) {
      off_t from = pos > static_cast<off_t>(kBlock) ? pos - static_cast<off_t>(kBlock) : 0;
      std::string block(static_cast<std::size_t>(pos - from), '\0');
      ssize_t got = ::pread(fd, block.data(), block.size(), from);
      if (got != static_cast<ssize_t>(block.size())) break;
      block += carry;
      // Records end at each '\n'; walk them from the last one back.
      std::size_t end = block.size();
      if (!block.empty() && block.back() != '\n') {
        // Bytes after the last newline of the file: not a whole record yet.
        auto nl = block.rfind('\n');
        end = nl == std::string::npos ? 0 : nl + 1;
      }
      while (end > 0) {
        auto prev = end >= 2 ? block.rfind('\n', end - 2) : std::string::npos;
        if (prev == std::string::npos && from > 0) break;  // its start is in an earlier block
        std::size_t start = prev == std::string::npos ? 0 : prev + 1;
        std::string_view record(block.data() + start, end - 1 - start);
        bool full = is_full_record(record);
        if (newest) {
          newest = false;
          if (!full) ends = 1;  // a line in progress is the last line
        }
        if (full) {
          if (ends == lines) {
            current_ = i;
            ::lseek(fd, from + static_cast<off_t>(end), SEEK_SET);
            return;
          }
          ++ends;
        }
        end = start;
      }
      carry = block.substr(0, end);
      pos = from;
    }
  }
  current_ = 0;  // fewer lines than asked: all of them
  ::lseek(files_[0].fd, 0, SEEK_SET);
}

// The file being read ended and task.log now names another file: the shim
// rotated it. Goes on with the new one.
bool task_log_reader::open_rotated_current() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st {};
  fstat(fd, &st);
  for (auto& f : files_)
    if (f.ino == st.st_ino) {
      ::close(fd);
      return false;
    }
  files_.push_back(file{fd, st.st_ino});
  // Files before the one being read are done with.
  for (std::size_t i = 0; i < current_; ++i) {
    ::close(files_[i].fd);
    files_[i].fd = -1;
  }
  return true;
}

std::vector<log_record> task_log_reader::next(std::size_t max_bytes, std::int64_t since_ns) {
  std::vector<log_record> out;
  if (files_.empty()) {
    // Nothing was there when the reader opened: the shim may have begun since.
    if (!open_rotated_current()) return out;
    current_ = 0;
  }
  std::size_t taken = 0;
  char buf[kBlock];
  while (taken < max_bytes) {
    ssize_t n = ::read(files_[current_].fd, buf, sizeof buf);
    if (n < 0) break;
    if (n == 0) {
      if (current_ + 1 < files_.size() || open_rotated_current()) {
        pending_.clear();  // records never span files; a torn end is dropped
        ++current_;
        continue;
      }
      break;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      auto r = parse_log_record(std::string_view(pending_).substr(start, nl - start));
      start = nl + 1;
      if (r.time_ns != 0 && r.time_ns < since_ns) continue;
      taken += r.text.size() + 64;
      out.push_back(std::move(r));
    }
    pending_.erase(0, start);
  }
  return out;
}

}  // namespace berth
