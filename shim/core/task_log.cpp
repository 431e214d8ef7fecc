#include "shim/core/task_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <system_error>

namespace berth::shim {

task_log::task_log(const std::string& path) {
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot open task log " + path);
  }
}

task_log::~task_log() {
  if (fd_ >= 0) close(fd_);
}

task_log::task_log(task_log&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

task_log& task_log::operator=(task_log&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
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

void task_log::write(std::string_view stream, std::string_view chunk) {
  if (fd_ < 0 || chunk.empty()) return;
  const std::string stamp = rfc3339_now();
  std::string out;
  out.reserve(chunk.size() + 48);
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    bool full = nl != std::string_view::npos;
    std::string_view line = full ? chunk.substr(0, nl) : chunk;
    out.append(stamp).append(" ").append(stream).append(full ? " F " : " P ");
    out.append(line).append("\n");
    chunk.remove_prefix(full ? nl + 1 : chunk.size());
  }
  // One write per chunk: O_APPEND keeps records whole even if two streams race.
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // a full disk must not stop the container's output from flowing
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace berth::shim
