#include "tests/support/machine.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/busybox_bundle.hpp"

namespace berth::test {

bool have_program(const std::string& name) {
  std::string cmd = "command -v '" + name + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

bool criu_runs_here() {
  return have_program("criu") && std::system("criu check >/dev/null 2>&1") == 0;
}

bool overlay_mounts_here() {
  if (!running_as_root()) return false;
  // The module loads on first mount on most kernels; modprobe makes sure, and
  // puts "overlay" in /proc/filesystems before anyone reads it.
  if (std::system("modprobe overlay >/dev/null 2>&1") != 0) {
    // Built in, or modprobe missing: the mount below decides.
  }
  temp_dir dir("berth-overlay-probe");
  for (const char* sub : {"lower", "upper", "work", "merged"}) {
    std::filesystem::create_directory(dir / sub);
  }
  std::string options =
      "lowerdir=" + (dir / "lower") + ",upperdir=" + (dir / "upper") + ",workdir=" + (dir / "work");
  std::string merged = dir / "merged";
  if (mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) != 0) return false;
  umount2(merged.c_str(), MNT_DETACH);
  return true;
}

}  // namespace berth::test
