#include "actors/daemon/bundle.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace berth {
namespace fs = std::filesystem;

namespace {

// Writes `text` to dir/name through a temp file and a rename: a reader never
// sees half of it.
std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  auto tmp = dir + "/." + name + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto why = std::string(std::strerror(errno));
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + why;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0)
    return "cannot write " + dir + "/" + name + ": " + std::strerror(errno);
  return "";
}

}  // namespace

std::string write_bundle(const std::string& dir, const std::string& spec_json,
                         const std::string& runtime) {
  // The namespace's directory and the bundle are root's alone: through them
  // lies the container's root filesystem (see start_berth).
  std::error_code ec;
  fs::create_directories(dir + "/rootfs", ec);
  if (ec) return "cannot create bundle " + dir + ": " + ec.message();
  for (const auto& d : {fs::path(dir).parent_path().string(), dir}) {
    if (::chmod(d.c_str(), 0700) != 0)
      return "cannot make bundle directory " + d + " private: " + std::strerror(errno);
  }
  if (auto why = write_file(dir, "config.json", spec_json); !why.empty()) return why;
  return write_file(dir, "runtime", runtime);
}

std::string bundle_runtime(const std::string& dir) {
  std::ifstream in(dir + "/runtime");
  std::string name;
  std::getline(in, name);
  return name;
}

namespace {

// Mount points from /proc/self/mountinfo (field 5, octal escapes undone). A
// bind mount from the same file system keeps st_dev, so devices alone cannot
// tell a mount point.
std::set<std::string> mount_points() {
  std::set<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field, point;
    for (int i = 0; i < 5 && fields >> field; ++i)
      if (i == 4) point = field;
    std::string plain;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        plain += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        plain += point[i];
      }
    }
    if (!plain.empty()) points.insert(plain);
  }
  return points;
}

// Removes everything under path that lives on device dev and is no mount
// point; collects what it had to leave in `left`.
void remove_on_device(const fs::path& path, dev_t dev, const std::set<std::string>& mounts,
                      std::string& left) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (st.st_dev != dev || mounts.count(path.string())) {
    left += " " + path.string() + " (a mount)";
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      remove_on_device(it->path(), dev, mounts, left);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
      left += " " + path.string() + " (" + std::strerror(errno) + ")";
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    left += " " + path.string() + " (" + std::strerror(errno) + ")";
  }
}

}  // namespace

std::string remove_bundle(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return "";
  std::string left;
  std::error_code ec;
  auto real = fs::canonical(dir, ec);  // mountinfo names real paths
  if (ec) real = fs::path(dir).lexically_normal();
  remove_on_device(real, st.st_dev, mount_points(), left);
  if (left.empty()) return "";
  return "bundle " + dir + " not fully removed:" + left;
}

int unmount_rootfs(const std::string& dir, std::string& error) {
  auto target = dir + "/rootfs";
  int n = 0;
  // Mounts may be stacked (a second mount over the first); each umount
  // takes the top one. UMOUNT_NOFOLLOW: a rootfs replaced by a symlink
  // must not unmount something elsewhere.
  while (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) ++n;
  if (errno != EINVAL && errno != ENOENT) {
    error = "cannot unmount " + target + ": " + std::strerror(errno);
    return -1;
  }
  return n;
}

}  // namespace berth
