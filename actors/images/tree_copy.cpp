#include "actors/images/tree_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "actors/images/images_error.hpp"
#include "actors/images/rooted_fs.hpp"

namespace berth::images {

namespace {

class tree_copier {
 public:
  void copy_dir_contents(int src, int dst, const std::string& rel) {
    int fd = ::fcntl(src, F_DUPFD_CLOEXEC, 0);
    DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (!d) throw_errno("cannot list " + rel);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) copy_entry(src, dst, n, rel + "/" + n);
  }

  void copy_entry(int src, int dst, const std::string& name, const std::string& rel) {
    struct stat st {};
    if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno("cannot stat " + rel);
    const char* n = name.c_str();
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::linkat(it->second.first, it->second.second.c_str(), dst, n, 0) != 0)
          throw_errno("cannot link " + rel);
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst, n, 0700) != 0) throw_errno("cannot create " + rel);
      unique_fd s(::openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      unique_fd t(::openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s || !t) throw_errno("cannot open " + rel);
      copy_dir_contents(s.get(), t.get(), rel);
      keep_fds_.push_back(std::move(t));  // hard-link sources below may refer to it
    } else if (S_ISREG(st.st_mode)) {
      unique_fd s(::openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      unique_fd t(::openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!s || !t) throw_errno("cannot copy " + rel);
      off_t left = st.st_size;
      while (left > 0) {
        ssize_t c = ::sendfile(t.get(), s.get(), nullptr, static_cast<size_t>(left));
        if (c < 0 && errno == EINTR) continue;
        if (c <= 0) throw_errno("cannot copy data of " + rel);
        left -= c;
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      ssize_t len = ::readlinkat(src, n, target.data(), target.size());
      if (len < 0) throw_errno("cannot read link " + rel);
      target.resize(static_cast<std::size_t>(len));
      if (::symlinkat(target.c_str(), dst, n) != 0) throw_errno("cannot create link " + rel);
    } else {
      if (::mknodat(dst, n, st.st_mode, st.st_rdev) != 0) throw_errno("cannot create " + rel);
    }
    copy_metadata(src, dst, name, st, rel);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      int keep = ::fcntl(dst, F_DUPFD_CLOEXEC, 0);
      keep_fds_.emplace_back(keep);
      links_[{st.st_dev, st.st_ino}] = {keep, name};
    }
  }

  static void copy_metadata(int src, int dst, const std::string& name, const struct stat& st,
                            const std::string& rel) {
    const char* n = name.c_str();
    if (::fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM)
      throw_errno("cannot set owner of " + rel);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, n, st.st_mode & 07777, 0) != 0)
      throw_errno("cannot set mode of " + rel);
    std::string sp = "/proc/self/fd/" + std::to_string(src) + "/" + name;
    std::string dp = "/proc/self/fd/" + std::to_string(dst) + "/" + name;
    std::vector<char> names(65536);
    ssize_t len = ::llistxattr(sp.c_str(), names.data(), names.size());
    for (ssize_t i = 0; i < len;) {
      const char* key = names.data() + i;
      std::vector<char> value(65536);
      ssize_t vl = ::lgetxattr(sp.c_str(), key, value.data(), value.size());
      if (vl >= 0 && ::lsetxattr(dp.c_str(), key, value.data(), static_cast<size_t>(vl), 0) != 0 &&
          errno != ENOTSUP && errno != EPERM)
        throw_errno("cannot copy xattr " + std::string(key) + " of " + rel);
      i += static_cast<ssize_t>(std::strlen(key)) + 1;
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(dst, n, times, AT_SYMLINK_NOFOLLOW);
  }

 private:
  std::map<std::pair<dev_t, ino_t>, std::pair<int, std::string>> links_;
  std::vector<unique_fd> keep_fds_;
};

}  // namespace

void copy_tree(const std::string& src, const std::string& dst) {
  unique_fd s = open_directory(src);
  struct stat st {};
  if (::fstat(s.get(), &st) != 0) throw_errno("cannot stat " + src);
  if (::mkdir(dst.c_str(), 0700) != 0) throw_errno("cannot create " + dst);
  unique_fd d = open_directory(dst);
  tree_copier copier;
  copier.copy_dir_contents(s.get(), d.get(), src);
  // Directory times last, after their contents stopped changing them.
  ::fchown(d.get(), st.st_uid, st.st_gid);
  ::fchmod(d.get(), st.st_mode & 07777);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(d.get(), times);
}

}  // namespace berth::images
