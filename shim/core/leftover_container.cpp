#include "shim/core/leftover_container.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace berth::shim {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> arguments_of(const std::string& pid) {
  std::ifstream f("/proc/" + pid + "/cmdline");
  std::vector<std::string> args;
  for (std::string a; std::getline(f, a, '\0');) args.push_back(a);
  return args;
}

bool names_bundle(const std::vector<std::string>& args, const std::string& bundle) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--bundle=" + bundle || args[i] == "-b=" + bundle) return true;
    if ((args[i] == "--bundle" || args[i] == "-b") && i + 1 < args.size() && args[i + 1] == bundle)
      return true;
  }
  return false;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The runtime's own process: argv[0] is the runtime ("runc", "/usr/sbin/runc").
bool is_runtime(const std::vector<std::string>& args, const std::string& runtime) {
  return !args.empty() && base_name(args[0]) == base_name(runtime);
}

// Same mount namespace as this process: a path names the same bundle only there.
bool same_mount_namespace(const std::string& pid) {
  struct stat ours {
  }, theirs{};
  return ::stat("/proc/self/ns/mnt", &ours) == 0 &&
         ::stat(("/proc/" + pid + "/ns/mnt").c_str(), &theirs) == 0 &&
         ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

// What a dead shim's container may have left in its cgroup: the runtime's
// `init` (runc init waits on its exec FIFO) or the runtime's create still
// naming the bundle (crun's child waits under its parent's arguments). A
// process that is neither belongs to a container someone else owns.
bool left_by_runtime(const std::string& pid, const std::string& bundle,
                     const std::string& runtime) {
  auto args = arguments_of(pid);
  if (!is_runtime(args, runtime)) return false;
  return (args.size() >= 2 && args[1] == "init") || names_bundle(args, bundle);
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

// Waits up to two seconds for the processes to be gone (reaped by whoever
// inherited them); a process that outlives that is left to the caller's
// next step, which says so.
void wait_gone(const std::vector<pid_t>& pids) {
  for (int i = 0; i < 200; ++i) {
    bool any = false;
    for (auto p : pids) any = any || alive(p);
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<pid_t> procs_in(const std::string& dir) {
  std::ifstream f(dir + "/cgroup.procs");
  std::vector<pid_t> pids;
  for (pid_t p; f >> p;) pids.push_back(p);
  return pids;
}

// Every cgroup hierarchy's mount point (v1 controllers, named hierarchies
// and the v2 tree alike), from this process's mountinfo.
std::vector<std::string> cgroup_mounts() {
  std::ifstream f("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    head >> id >> parent >> devno >> root >> mount_point;
    if (root == "/") out.push_back(mount_point);
  }
  return out;
}

// A frozen container (paused, or caught by a freeze) never receives the
// kill; thaw it first, v1 and v2 alike.
void thaw(const std::string& dir) {
  if (fs::exists(dir + "/freezer.state")) std::ofstream(dir + "/freezer.state") << "THAWED";
  if (fs::exists(dir + "/cgroup.freeze")) std::ofstream(dir + "/cgroup.freeze") << "0";
}

}  // namespace

int kill_runtime_processes(const std::string& bundle, const std::string& runtime) {
  std::vector<pid_t> killed;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    auto args = arguments_of(name);
    if (!is_runtime(args, runtime) || !names_bundle(args, bundle) || !same_mount_namespace(name))
      continue;
    if (::kill(pid, SIGKILL) == 0) killed.push_back(pid);
  }
  wait_gone(killed);
  return static_cast<int>(killed.size());
}

std::string bundle_cgroup(const std::string& bundle) {
  std::ifstream f(bundle + "/config.json");
  if (!f) return "";
  auto doc = nlohmann::json::parse(f, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return "";
  auto linux_it = doc.find("linux");
  if (linux_it == doc.end() || !linux_it->is_object()) return "";
  auto path = linux_it->value("cgroupsPath", std::string{});
  // A systemd slice ("slice:prefix:name") is the manager's to remove; a
  // relative path or one climbing out would name a cgroup that is not this
  // container's.
  if (path.size() < 2 || path[0] != '/' || path.find(':') != std::string::npos) return "";
  for (auto& part : fs::path(path))
    if (part == "..") return "";
  return path;
}

int sweep_cgroup(const std::string& cgroup, const std::string& bundle, const std::string& runtime,
                 std::string& why) {
  std::set<pid_t> killed;
  for (auto& mount_point : cgroup_mounts()) {
    auto dir = mount_point + cgroup;
    if (!fs::is_directory(dir)) continue;
    thaw(dir);
    // A process forked meanwhile (runc init's own children) is caught by
    // the next round; an exited one leaves cgroup.procs when it dies.
    for (int i = 0; i < 300; ++i) {
      std::vector<pid_t> ours;
      for (auto p : procs_in(dir))
        if (left_by_runtime(std::to_string(p), bundle, runtime)) ours.push_back(p);
      if (ours.empty()) break;
      for (auto p : ours)
        if (::kill(p, SIGKILL) == 0) killed.insert(p);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      if (!why.empty()) why += "; ";
      why += "cannot remove cgroup " + dir + ": " + std::strerror(errno);
    }
  }
  return static_cast<int>(killed.size());
}

}  // namespace berth::shim
