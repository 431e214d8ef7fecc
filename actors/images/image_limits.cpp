#include "actors/images/image_limits.hpp"

#include <sys/statvfs.h>

#include "actors/images/images_error.hpp"

namespace berth::images {

namespace {

struct statvfs stat_fs(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) throw_errno("cannot read the file system of " + path);
  return fs;
}

}  // namespace

std::int64_t free_bytes(const std::string& path) {
  auto fs = stat_fs(path);
  return static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
}

bool mounted_nodev(const std::string& path) {
  return (stat_fs(path).f_flag & ST_NODEV) != 0;
}

std::string format_bytes(std::int64_t bytes) {
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string out = std::to_string(bytes) + " bytes";
  for (int i = 3; i >= 0; --i) {
    std::int64_t unit = std::int64_t{1} << (10 * (i + 1));
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + " " + units[i];
  }
  return out;
}

}  // namespace berth::images
