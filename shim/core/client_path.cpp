#include "shim/core/client_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "schema/file_kind.hpp"

namespace berth::shim {
namespace {

[[noreturn]] void refuse(const char* stream, const std::string& path, const std::string& why) {
  throw std::runtime_error(std::string("invalid ") + stream + " \"" + path +
                           "\": must be a FIFO or a regular file reached without a symbolic "
                           "link; " +
                           why);
}

[[noreturn]] void fail_open(const char* stream, const std::string& path, int err) {
  throw std::runtime_error(std::string("cannot open ") + stream + " " + path + ": " +
                           std::strerror(err));
}

// open(2) that follows no symbolic link on the way. Kernels before 5.6 have
// no openat2: there only the caller's O_NOFOLLOW guards the last component.
int open_without_links(const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_NO_SYMLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how));
  if (fd < 0 && errno == ENOSYS) fd = ::open(path.c_str(), flags, mode);
  return fd;
}

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Checks that `fd` (just opened) is the file looked at through the O_PATH
// descriptor, and hands it over.
client_file checked_result(const char* stream, const std::string& path, fd_guard& fd,
                           const struct stat& looked_at) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_open(stream, path, errno);
  if (st.st_dev != looked_at.st_dev || st.st_ino != looked_at.st_ino ||
      (st.st_mode & S_IFMT) != (looked_at.st_mode & S_IFMT))
    refuse(stream, path, "it changed while it was opened");
  return client_file{fd.release(), S_ISFIFO(st.st_mode)};
}

// The looked-at file itself, opened as `use` wants it: `where` is its O_PATH
// descriptor, `looked_at` its fstat.
client_file reopen(const char* stream, const std::string& path, int where,
                   const struct stat& looked_at, client_path_use use) {
  bool fifo = S_ISFIFO(looked_at.st_mode);
  bool write = use == client_path_use::write;
  int flags = O_CLOEXEC | O_NOCTTY;
  if (fifo) {
    // Write-only, so a reader that goes away turns into EPIPE; read-only
    // and non-blocking for stdin, as Linux reports no hang-up on a FIFO
    // whose writer never came.
    flags |= (write ? O_WRONLY : O_RDONLY) | O_NONBLOCK;
  } else {
    flags |= write ? O_WRONLY | O_APPEND : O_RDONLY;
  }
  // /proc/self/fd/N is the file `where` holds, whatever its path leads to now.
  std::string self = "/proc/self/fd/" + std::to_string(where);
  fd_guard fd(::open(self.c_str(), flags));
  if (fd.get() < 0 && fifo && write && errno == ENXIO) {
    // No reader yet: hold the FIFO read-write, so the open never blocks and
    // the output waits for the reader; only the stall limit can then tell
    // that reader's death, since the shim itself counts as one.
    fd_guard rw(::open(self.c_str(), (flags & ~O_WRONLY) | O_RDWR));
    if (rw.get() < 0) fail_open(stream, path, errno);
    return checked_result(stream, path, rw, looked_at);
  }
  if (fd.get() < 0) fail_open(stream, path, errno);
  return checked_result(stream, path, fd, looked_at);
}

}  // namespace

client_file open_client_path(const char* stream, const std::string& path, client_path_use use) {
  if (path.empty() || path.front() != '/')
    throw std::runtime_error(std::string("invalid ") + stream + " path \"" + path +
                             "\": must be absolute");
  // A file that appears between the look and the create is looked at again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    // O_PATH opens nothing for I/O (no device's open runs) and, with
    // O_NOFOLLOW, gives the link itself when the last component is one.
    fd_guard where(open_without_links(path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
    if (where.get() < 0) {
      int e = errno;
      if (e == ELOOP) refuse(stream, path, "a directory on its way is a symbolic link");
      if (e == ENOENT && use == client_path_use::read) refuse(stream, path, "it does not exist");
      if (e != ENOENT) fail_open(stream, path, e);
      // Missing: created, exclusively, so an existing name (a link made in
      // the meantime) is never followed.
      fd_guard created(open_without_links(
          path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
      if (created.get() >= 0) return client_file{created.release(), false};
      if (errno == EEXIST) continue;
      if (errno == ELOOP) refuse(stream, path, "a directory on its way is a symbolic link");
      fail_open(stream, path, errno);
    }
    struct stat st {};
    if (::fstat(where.get(), &st) != 0) fail_open(stream, path, errno);
    if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))
      refuse(stream, path, "it is " + file_kind(st.st_mode));
    return reopen(stream, path, where.get(), st, use);
  }
  refuse(stream, path, "it keeps changing while it is opened");
}

}  // namespace berth::shim
