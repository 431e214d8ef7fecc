// Test support shared by unit, integration and benchmark code: a one-file
// busybox root filesystem with a runc-style config.json, and temp dirs.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace berth::test {

struct bundle_options {
  std::vector<std::string> args = {"sh"};
  bool terminal = false;
  std::vector<std::string> env{};  // "K=V"; a default PATH is added unless given
  bool readonly_rootfs = false;
  std::string hostname = "berth";
};

// The busybox applets linked into rootfs/bin (exit is a shell builtin).
const std::vector<std::string>& busybox_applets();

// The config.json make_busybox_bundle writes: the defaults of `runc spec`
// (pid/ipc/uts/mount/network namespaces, the usual /proc /dev /sys mounts,
// default capabilities, masked and read-only paths, RLIMIT_NOFILE 1024) with
// the process and root taken from `opts`. Returned as JSON text.
std::string busybox_config_json(const bundle_options& opts = {});

// Creates DIR/rootfs (static /bin/busybox plus applet symlinks) and
// DIR/config.json. DIR may exist. Throws std::runtime_error with the reason
// (e.g. busybox-static not installed).
void make_busybox_bundle(const std::string& dir, const bundle_options& opts = {});

// A fresh directory under $TMPDIR (or /tmp), removed recursively by the
// destructor. The removal stays on the directory's own filesystem, so a mount
// left inside (a container rootfs) is never descended into.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "berth-test");
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  void remove();
  std::string path_;
};

bool running_as_root();

// The names in `dir` (not recursive); empty when it cannot be read.
std::set<std::string> names_in(const std::string& dir);

}  // namespace berth::test
