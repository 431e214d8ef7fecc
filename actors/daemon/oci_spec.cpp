#include "actors/daemon/oci_spec.hpp"

#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "actors/daemon/capability_sets.hpp"
#include "actors/daemon/seccomp_profile.hpp"
#include "actors/errors.hpp"
#include "actors/runtime/wire_text.hpp"

namespace berth {
namespace {

using nlohmann::json;

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

json mount(const char* dest, const char* type, const char* source,
           std::initializer_list<const char*> options) {
  json m = {{"destination", dest}, {"type", type}, {"source", source}};
  m["options"] = json::array();
  for (auto* o : options) m["options"].push_back(o);
  return m;
}

bool clean_absolute(const std::string& p) {
  if (p.empty() || p.front() != '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

caf::error invalid(const std::string& id, const std::string& why) {
  return make_error(errc::invalid_argument, "invalid options for container " + id + ": " + why);
}

// Every string the spec will hold, checked before nlohmann sees it: its dump
// throws type_error 316 on invalid UTF-8, and a NUL would cut a path or an
// argument where runc reads it as a C string. The options may come from an
// image's config as well as from a request, so the API's validation is not
// the only gate. Returns "" or "<field>: <rule>".
std::string bad_string(const std::string& ns, const std::string& id, const container_options& o,
                       const std::string& root_path) {
  auto check = [](const std::string& field, const std::string& s) -> std::string {
    auto why = wire_text::problem(s, s.size());
    return why.empty() ? "" : field + ": " + why;
  };
  auto each = [&](const std::string& field, const std::vector<std::string>& xs) -> std::string {
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (auto why = check(field + "[" + std::to_string(i) + "]", xs[i]); !why.empty()) return why;
    return "";
  };
  for (auto why : {check("namespace", ns), check("id", id), check("root path", root_path),
                   each("args", o.args), each("env", o.env), check("cwd", o.cwd),
                   check("hostname", o.hostname)})
    if (!why.empty()) return why;
  for (auto why : {each("capAdd", o.cap_add), each("capDrop", o.cap_drop)})
    if (!why.empty()) return why;
  for (std::size_t i = 0; i < o.devices.size(); ++i) {
    const auto& d = o.devices[i];
    auto at = "devices[" + std::to_string(i) + "].";
    for (auto why :
         {check(at + "hostPath", d.host_path), check(at + "containerPath", d.container_path),
          check(at + "permissions", d.permissions)})
      if (!why.empty()) return why;
  }
  for (std::size_t i = 0; i < o.mounts.size(); ++i) {
    const auto& m = o.mounts[i];
    auto at = "mounts[" + std::to_string(i) + "].";
    for (auto why : {check(at + "type", m.type), check(at + "source", m.source),
                     check(at + "destination", m.destination), each(at + "options", m.options)})
      if (!why.empty()) return why;
  }
  return "";
}

caf::expected<std::string> spec_json(const std::string& ns, const std::string& id,
                                     const container_options& o, const std::string& root_path);

}  // namespace

caf::expected<std::string> generate_spec(const std::string& ns, const std::string& id,
                                         const container_options& o, const std::string& root_path) {
  if (auto why = bad_string(ns, id, o, root_path); !why.empty()) return invalid(id, why);
  try {
    return spec_json(ns, id, o, root_path);
  } catch (const std::invalid_argument& e) {
    return invalid(id, e.what());  // a capability name (capability_sets.hpp)
  } catch (const std::exception& e) {
    // Nothing above should let one through; if one does, it is this
    // container's error, not the calling actor's crash.
    return invalid(id, std::string("cannot write its OCI spec: ") + e.what());
  }
}

namespace {

caf::expected<std::string> spec_json(const std::string& ns, const std::string& id,
                                     const container_options& o, const std::string& root_path) {
  if (o.args.empty())
    return invalid(id, "no command to run (give ARGS, or an image whose config has one)");
  std::vector<std::string> env;
  bool has_path = false;
  for (const auto& e : o.env) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid(id, "environment entry \"" + e + "\" is not KEY=VALUE");
    has_path = has_path || e.rfind("PATH=", 0) == 0;
  }
  if (!has_path) env.push_back(kDefaultPath);
  env.insert(env.end(), o.env.begin(), o.env.end());
  if (o.terminal) env.push_back("TERM=xterm");
  std::string cwd = o.cwd.empty() ? "/" : o.cwd;
  if (!clean_absolute(cwd))
    return invalid(id, "working directory \"" + cwd + "\" must be an absolute path without ..");

  if (!o.seccomp.empty() && o.seccomp != "unconfined" && o.seccomp != "default")
    return invalid(id, "seccomp profile \"" + o.seccomp +
                           "\" is not supported: use \"default\" or \"unconfined\"");
  if (o.pids_limit < -1) return invalid(id, "pids limit must be positive, or -1 for none");
  const auto caps = capability_names(
      container_capabilities(o.privileged, o.cap_add, o.cap_drop, own_bounding_set()));
  json user = {{"uid", o.uid}, {"gid", o.gid}};
  if (!o.additional_gids.empty()) user["additionalGids"] = o.additional_gids;
  json process = {
      {"terminal", o.terminal},
      {"user", user},
      {"args", o.args},
      {"env", env},
      {"cwd", cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };

  json mounts = json::array({
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  if (o.privileged) {
    // sysfs and the cgroup tree writable, as Docker's --privileged has them.
    for (auto& m : mounts) {
      auto& opts = m["options"];
      for (auto& opt : opts)
        if (opt == "ro") opt = "rw";
    }
  }
  json namespaces =
      json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (o.net_host) {
    // The host's network, and its name resolution with it.
    for (const char* f : {"/etc/hosts", "/etc/resolv.conf"})
      if (::access(f, R_OK) == 0) mounts.push_back(mount(f, "bind", f, {"rbind", "ro"}));
  } else {
    namespaces.push_back({{"type", "network"}});
  }
  for (const auto& m : o.mounts) {
    if (!clean_absolute(m.destination))
      return invalid(
          id, "mount destination \"" + m.destination + "\" must be an absolute path without ..");
    std::string type = m.type.empty() ? "bind" : m.type;
    if (type == "bind" && !clean_absolute(m.source))
      return invalid(id,
                     "bind mount source \"" + m.source + "\" must be an absolute path without ..");
    json jm = {{"destination", m.destination}, {"type", type}, {"source", m.source}};
    json options = json::array();
    bool has_bind = false;
    for (const auto& opt : m.options) has_bind = has_bind || opt == "bind" || opt == "rbind";
    if (type == "bind" && !has_bind) options.push_back("rbind");
    for (const auto& opt : m.options) options.push_back(opt);
    jm["options"] = options;
    mounts.push_back(jm);
  }

  json resources = {{"devices", json::array({{{"allow", o.privileged}, {"access", "rwm"}}})}};
  json devices = json::array();
  if (o.host_devices.size() != o.devices.size())
    return invalid(id, "its devices were not looked up on the host");
  for (const auto& d : o.host_devices) {
    devices.push_back({{"path", d.path},
                       {"type", d.type},
                       {"major", d.major},
                       {"minor", d.minor},
                       {"fileMode", d.file_mode},
                       {"uid", d.uid},
                       {"gid", d.gid}});
    resources["devices"].push_back({{"allow", true},
                                    {"type", d.type},
                                    {"major", d.major},
                                    {"minor", d.minor},
                                    {"access", d.access}});
  }
  if (o.pids_limit > 0) resources["pids"] = {{"limit", o.pids_limit}};
  if (o.memory_limit < 0) return invalid(id, "memory limit must not be negative");
  if (o.memory_limit > 0) resources["memory"] = {{"limit", o.memory_limit}};
  if (o.cpus < 0 || std::isnan(o.cpus)) return invalid(id, "cpus must be a positive number");
  if (o.cpus > 0) {
    constexpr std::uint64_t period = 100000;
    resources["cpu"] = {{"period", period},
                        {"quota", static_cast<std::int64_t>(std::llround(o.cpus * period))}};
  }

  json linux_section = {
      {"cgroupsPath", "/berth/" + ns + "/" + id},
      {"resources", resources},
      {"namespaces", namespaces},
  };
  if (!devices.empty()) linux_section["devices"] = devices;
  if (!o.privileged) {
    linux_section["maskedPaths"] = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                                    "/proc/scsi"};
    linux_section["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};
    // Docker's and containerd's default policy, unless asked otherwise.
    if (o.seccomp != "unconfined") linux_section["seccomp"] = default_seccomp_profile(caps);
  }
  json config = {
      {"ociVersion", "1.0.2-dev"},
      {"process", process},
      {"root", {{"path", root_path}, {"readonly", o.readonly_rootfs}}},
      {"hostname", o.hostname.empty() ? id : o.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
  return config.dump(2) + "\n";
}

}  // namespace

}  // namespace berth
