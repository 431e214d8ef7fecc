#include "tests/support/busybox_bundle.hpp"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace berth::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

json mount(const char* dest, const char* type, const char* source,
           std::vector<std::string> options = {}) {
  json m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = options;
  return m;
}

}  // namespace

const std::vector<std::string>& busybox_applets() {
  static const std::vector<std::string> applets = {
      "sh",   "cat", "echo",   "sleep", "true", "false", "ls",  "ps",    "env", "id",  "head",
      "tail", "wc",  "printf", "test",  "kill", "yes",   "seq", "mkdir", "rm",  "grep"};
  return applets;
}

std::string busybox_config_json(const bundle_options& opts) {
  std::vector<std::string> env = opts.env;
  bool has_path = false;
  for (const auto& e : env) has_path = has_path || e.rfind("PATH=", 0) == 0;
  if (!has_path) env.insert(env.begin(), kDefaultPath);
  if (opts.terminal) env.push_back("TERM=xterm");

  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

  json process = {
      {"terminal", opts.terminal},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", opts.args},
      {"env", env},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };

  json mounts = json::array({
      mount("/proc", "proc", "proc"),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });

  json linux_section = {
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", json::array({{{"type", "pid"}},
                                  {{"type", "network"}},
                                  {{"type", "ipc"}},
                                  {{"type", "uts"}},
                                  {{"type", "mount"}}})},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };

  json config = {
      {"ociVersion", "1.0.2-dev"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", opts.readonly_rootfs}}},
      {"hostname", opts.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
  return config.dump(2) + "\n";
}

void make_busybox_bundle(const std::string& dir, const bundle_options& opts) {
  if (opts.args.empty()) throw std::invalid_argument("bundle process args must not be empty");
  if (!fs::exists(kBusybox))
    throw std::runtime_error(std::string("cannot build a bundle: ") + kBusybox +
                             " is missing (install busybox-static)");
  try {
    fs::path rootfs = fs::path(dir) / "rootfs";
    fs::create_directories(rootfs / "bin");
    // Mount points and a writable /tmp exist up front: a read-only rootfs
    // cannot get them later.
    for (const char* d : {"proc", "sys", "dev", "tmp", "etc", "root"})
      fs::create_directories(rootfs / d);
    fs::permissions(rootfs / "tmp", fs::perms::all | fs::perms::sticky_bit);

    fs::copy_file(kBusybox, rootfs / "bin/busybox", fs::copy_options::overwrite_existing);
    fs::permissions(rootfs / "bin/busybox", fs::perms(0755));
    for (const auto& applet : busybox_applets()) {
      fs::path link = rootfs / "bin" / applet;
      fs::remove(link);
      fs::create_symlink("busybox", link);
    }

    std::ofstream out(fs::path(dir) / "config.json", std::ios::trunc);
    out << busybox_config_json(opts);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + dir + "/config.json");
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error("cannot build bundle in " + dir + ": " + e.what());
  }
}

// ---------------------------------------------------------------- temp_dir

temp_dir::temp_dir(const std::string& prefix) {
  const char* base = ::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "cannot create temp dir " + tmpl);
  path_ = std::move(tmpl);
}

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

temp_dir::~temp_dir() {
  remove();
}

void temp_dir::remove() {
  if (path_.empty()) return;
  // FTW_MOUNT: stay on this filesystem; FTW_PHYS: never follow symlinks;
  // FTW_DEPTH: children before their directory. Errors are ignored (a
  // destructor has no one to tell; a busy mount point simply stays).
  ::nftw(
      path_.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        ::remove(p);
        return 0;
      },
      32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  path_.clear();
}

bool running_as_root() {
  return ::geteuid() == 0;
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    out.insert(it->path().filename().string());
  return out;
}

}  // namespace berth::test
