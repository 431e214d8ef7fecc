#include "shim/core/cgroup_stats.hpp"

#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace berth::shim {
namespace {

bool read_number(const std::string& path, uint64_t& out) {
  std::ifstream f(path);
  std::string s;
  if (!(f >> s)) return false;
  if (s == "max") {
    out = 0;  // unlimited
    return true;
  }
  try {
    out = std::stoull(s);
  } catch (...) {
    return false;
  }
  return true;
}

bool read_keyed(const std::string& path, const std::string& key, uint64_t& out) {
  std::ifstream f(path);
  std::string k;
  uint64_t v;
  while (f >> k >> v) {
    if (k == key) {
      out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

proc_cgroups read_proc_cgroups(pid_t pid) {
  proc_cgroups out;
  std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
  out.found = static_cast<bool>(f);
  for (std::string line; std::getline(f, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {
      out.v2 = path;
      continue;
    }
    std::stringstream ss(controllers);
    for (std::string c; std::getline(ss, c, ',');) out.v1[c] = path;
  }
  return out;
}

std::optional<std::string> read_cgroup_usage(pid_t pid, cgroup_usage& out,
                                             const std::string& root) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/cgroup";
  proc_cgroups groups = read_proc_cgroups(pid);
  if (!groups.found) return "cannot read " + proc + ": the process is gone";
  auto& v1 = groups.v1;
  const bool have_v2 = groups.v2.has_value();
  const std::string v2_path = groups.v2.value_or("");

  if (v1.count("memory")) {
    const std::string dir = root + "/memory" + v1["memory"];
    if (!read_number(dir + "/memory.usage_in_bytes", out.memory_usage)) {
      return "cannot read " + dir + "/memory.usage_in_bytes";
    }
    read_number(dir + "/memory.limit_in_bytes", out.memory_limit);
    // v1 reports "no limit" as a huge page-aligned number.
    if (out.memory_limit >= (std::numeric_limits<int64_t>::max() / 4096) * 4096) {
      out.memory_limit = 0;
    }
    const std::string cpu = root + "/cpuacct" + v1["cpuacct"];
    read_number(cpu + "/cpuacct.usage", out.cpu_usage_ns);
    if (v1.count("pids")) {
      const std::string pids = root + "/pids" + v1["pids"];
      read_number(pids + "/pids.current", out.pids_current);
      read_number(pids + "/pids.max", out.pids_limit);
    }
    return std::nullopt;
  }
  if (have_v2) {
    // Pure v2 mounts it at the root; hybrid at <root>/unified.
    std::string dir = root + v2_path;
    if (!std::ifstream(dir + "/memory.current")) dir = root + "/unified" + v2_path;
    if (!read_number(dir + "/memory.current", out.memory_usage)) {
      return "cannot read " + dir + "/memory.current";
    }
    read_number(dir + "/memory.max", out.memory_limit);
    uint64_t usec = 0;
    if (read_keyed(dir + "/cpu.stat", "usage_usec", usec)) out.cpu_usage_ns = usec * 1000;
    read_number(dir + "/pids.current", out.pids_current);
    read_number(dir + "/pids.max", out.pids_limit);
    return std::nullopt;
  }
  return "no cgroup found for pid " + std::to_string(pid) + " in " + proc;
}

}  // namespace berth::shim
