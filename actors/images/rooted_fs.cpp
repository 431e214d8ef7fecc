#include "actors/images/rooted_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "actors/images/images_error.hpp"

namespace berth::images {

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

unique_fd open_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open directory " + dir);
  return unique_fd(fd);
}

std::vector<std::string> split_entry_path(std::string_view path, std::string_view what) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..")
      throw images_error(error_kind::invalid_argument,
                         std::string(what) + " \"" + std::string(path) +
                             "\" contains \"..\"; entries must stay inside the layer");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string join_path(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

unique_fd open_dir_beneath(int root, const std::vector<std::string>& parts, std::size_t count,
                           bool create, std::string_view what) {
  unique_fd current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!current) throw_errno("cannot duplicate a directory descriptor");
  for (std::size_t i = 0; i < count; ++i) {
    const char* name = parts[i].c_str();
    int fd = ::openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), name, 0755) != 0 && errno != EEXIST)
        throw_errno("cannot create directory " + join_path(parts, i + 1) + " for " +
                    std::string(what));
      fd = ::openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int err = errno;
      struct stat st {};
      if ((err == ELOOP || err == ENOTDIR) &&
          ::fstatat(current.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        throw images_error(error_kind::invalid_argument,
                           std::string(what) + " goes through symlink \"" +
                               join_path(parts, i + 1) + "\"; writes through symlinks are refused");
      if (err == ENOENT)
        throw images_error(
            error_kind::not_found,
            std::string(what) + ": directory \"" + join_path(parts, i + 1) + "\" does not exist");
      if (err == ENOTDIR)
        throw images_error(
            error_kind::invalid_argument,
            std::string(what) + ": \"" + join_path(parts, i + 1) + "\" is not a directory");
      errno = err;
      throw_errno("cannot open directory " + join_path(parts, i + 1) + " for " + std::string(what));
    }
    current = unique_fd(fd);
  }
  return current;
}

unique_fd open_file_in_root(int root, const std::string& path) {
  struct open_how how {};
  // O_NONBLOCK: an image's FIFO must not hang the open (nor a device's
  // open have effects); then only a regular file is read.
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return unique_fd();
    throw_errno("cannot open " + path + " in the image's root filesystem");
  }
  unique_fd file(static_cast<int>(fd));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) throw_errno("cannot stat " + path + " in the image");
  if (!S_ISREG(st.st_mode))
    throw images_error(error_kind::failed_precondition,
                       path + " in the image's root filesystem is not a regular file");
  return file;
}

void clear_directory(int dir) {
  int fd = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_errno("cannot duplicate a directory descriptor");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    throw_errno("cannot list a directory");
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : names) remove_tree_at(dir, n);
}

void remove_tree_at(int dir, const std::string& name) {
  if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) throw_errno("cannot remove " + name);
  int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) throw_errno("cannot open " + name + " for removal");
  unique_fd guard(sub);
  struct stat parent {
  }, self{};
  // Never descend into another file system (a container rootfs still mounted).
  if (::fstat(dir, &parent) == 0 && ::fstat(sub, &self) == 0 && parent.st_dev != self.st_dev)
    throw images_error(error_kind::failed_precondition,
                       "cannot remove " + name + ": a file system is mounted there");
  clear_directory(sub);
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    throw_errno("cannot remove directory " + name);
}

void remove_tree(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string parent =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    throw_errno("cannot open " + parent);
  }
  unique_fd guard(fd);
  remove_tree_at(fd, name);
}

}  // namespace berth::images
