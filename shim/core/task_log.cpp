#include "shim/core/task_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <system_error>

namespace berth::shim {

task_log::task_log(const std::string& path, log_limits limits) : path_(path), limits_(limits) {
  if (limits_.max_size == 0) limits_.max_size = log_limits{}.max_size;
  if (limits_.max_files == 0) limits_.max_files = log_limits{}.max_files;
  if (limits_.max_files > kMaxLogMaxFiles) limits_.max_files = kMaxLogMaxFiles;
  // Below this a record header could not fit with any text at all.
  if (limits_.max_size < 256) limits_.max_size = 256;
  open_current();
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot open task log " + path);
  }
}

task_log::~task_log() {
  if (fd_ >= 0) close(fd_);
}

task_log::task_log(task_log&& other) noexcept
    : path_(std::move(other.path_)), limits_(other.limits_), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

task_log& task_log::operator=(task_log&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    limits_ = other.limits_;
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

std::string task_log::rotated_name(const std::string& path, std::uint32_t n) {
  return path + "." + std::to_string(n);
}

void task_log::open_current() {
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  size_ = 0;
  struct stat st {};
  if (fd_ >= 0 && fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

// task.log.(n-1) → task.log.n, …, task.log → task.log.1; with one file the
// current one is simply dropped. A rename that fails (the file is not
// there) is no reason to stop logging.
void task_log::rotate() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  const std::uint32_t keep = limits_.max_files - 1;  // rotated files kept
  // A smaller max_files than a previous shim's leaves older files behind.
  unlink(rotated_name(path_, keep + 1).c_str());
  if (keep == 0) {
    unlink(path_.c_str());
  } else {
    for (std::uint32_t n = keep; n > 1; --n)
      rename(rotated_name(path_, n - 1).c_str(), rotated_name(path_, n).c_str());
    rename(path_.c_str(), rotated_name(path_, 1).c_str());
  }
  open_current();
}

std::string rfc3339_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

void task_log::flush(std::string& out) {
  // One write per batch: O_APPEND keeps records whole even if two streams race.
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0 && fd_ >= 0) {
    ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;  // a full disk must not stop the container's output from flowing
    }
    p += w;
    left -= static_cast<size_t>(w);
    size_ += static_cast<std::uint64_t>(w);
  }
  out.clear();
}

void task_log::write(std::string_view stream, std::string_view chunk) {
  if (path_.empty() || chunk.empty()) return;
  if (fd_ < 0) open_current();  // a failed reopen after a rotation: try again
  if (fd_ < 0) return;
  const std::string stamp = rfc3339_now();
  const std::size_t header = stamp.size() + 1 + stream.size() + 3;  // "T S F "
  // The longest text one record may carry so that it fits an empty file.
  const std::size_t room = static_cast<std::size_t>(limits_.max_size) - header - 1;
  std::string out;
  out.reserve(chunk.size() + 48);
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    bool full = nl != std::string_view::npos;
    std::string_view line = full ? chunk.substr(0, nl) : chunk;
    if (line.size() > room) {  // longer than a file: the rest follows in the next record
      line = line.substr(0, room);
      full = false;
    }
    const std::size_t record = header + line.size() + 1;
    if (size_ + out.size() + record > limits_.max_size && size_ + out.size() > 0) {
      flush(out);
      rotate();
      if (fd_ < 0) return;
    }
    out.append(stamp).append(" ").append(stream).append(full ? " F " : " P ");
    out.append(line).append("\n");
    chunk.remove_prefix(full ? line.size() + 1 : line.size());
  }
  flush(out);
}

}  // namespace berth::shim
