// Resource usage of a container read straight from its cgroup files, for
// cgroup v1 (this machine's controllers) and v2 (unified hierarchy).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace berth::shim {

// The cgroups of a process as /proc/<pid>/cgroup lists them.
struct proc_cgroups {
  bool found = false;                     // the file could be read
  std::map<std::string, std::string> v1;  // controller -> path (v1 hierarchies)
  std::optional<std::string> v2;          // path in the unified hierarchy
};
proc_cgroups read_proc_cgroups(pid_t pid);

struct cgroup_usage {
  uint64_t memory_usage = 0, memory_limit = 0;
  uint64_t cpu_usage_ns = 0;
  uint64_t pids_current = 0, pids_limit = 0;
};

// Reads the cgroups of `pid` from /proc/<pid>/cgroup, then each controller's
// counters. `cgroup_root` is /sys/fs/cgroup except in tests. Returns an error
// message naming the file when the process or its cgroup is gone.
std::optional<std::string> read_cgroup_usage(pid_t pid, cgroup_usage& out,
                                             const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace berth::shim
