#include "tests/support/berthd_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace berth::test {
namespace fs = std::filesystem;

namespace {

std::string build_dir() {
  const char* d = ::getenv("BERTH_BUILD_DIR");
  if (!d || !*d) throw std::runtime_error("BERTH_BUILD_DIR is not set (run the tests with ctest)");
  return d;
}

int run_quiet(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string berthd_process::berthd_binary() {
  return build_dir() + "/actors/daemon/berthd";
}
std::string berthd_process::shim_binary() {
  return build_dir() + "/shim/berth-shim";
}
std::string berthd_process::cli_binary() {
  return build_dir() + "/cli/berth";
}

berthd_process::berthd_process() : berthd_process(options{}) {}

berthd_process::berthd_process(options opts) : opts_(std::move(opts)) {
  fs::create_directories(root());
  fs::create_directories(state());
  start();
}

berthd_process::~berthd_process() {
  if (running()) stop();
  // Leave nothing behind: every shim under the state dir goes, with its
  // container (berth-shim delete kills and deletes).
  std::error_code ec;
  for (auto ns = fs::directory_iterator(state(), ec); !ec && ns != fs::directory_iterator();
       ns.increment(ec)) {
    if (!ns->is_directory() || ns->path().filename() == ".runtime") continue;
    std::error_code ec2;
    for (auto t = fs::directory_iterator(ns->path(), ec2); !ec2 && t != fs::directory_iterator();
         t.increment(ec2)) {
      auto dir = t->path().string();
      if (!fs::exists(dir + "/config.json")) continue;
      auto nsname = ns->path().filename().string();
      for (const char* rt : {"io.berth.runc.v1", "io.berth.crun.v1"}) {
        std::string runtime = std::string(rt) == "io.berth.runc.v1" ? "runc" : "crun";
        run_quiet({shim_binary(), "delete", "--namespace", nsname, "--id",
                   t->path().filename().string(), "--bundle", dir, "--state-dir", dir, "--runtime",
                   runtime, "--runtime-root", state() + "/.runtime/" + rt + "/" + nsname});
      }
    }
  }
  for (auto pid : shims_under(state())) ::kill(pid, SIGKILL);
}

void berthd_process::start() {
  ::unlink(socket().c_str());
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int log = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<std::string> argv = opts_.wrapper;
    std::vector<std::string> daemon = {berthd_binary(), "--root",      root(),
                                       "--state",       state(),       "--shim-binary",
                                       shim_binary(),   "--log-level", "debug"};
    argv.insert(argv.end(), daemon.begin(), daemon.end());
    for (auto& a : opts_.extra_args) argv.push_back(a);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + opts_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    struct stat st {};
    if (::stat(socket().c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("berthd exited before it was ready:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  throw std::runtime_error("berthd was not ready within the timeout:\n" + log());
}

bool berthd_process::stop() {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void berthd_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string berthd_process::log() const {
  std::ifstream in(log_path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string berthd_process::rootfs() {
  auto bundle = dir_ / "busybox";
  if (!have_rootfs_) {
    make_busybox_bundle(bundle);
    have_rootfs_ = true;
  }
  return bundle + "/rootfs";
}

std::vector<pid_t> shims_under(const std::string& state_dir) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(it->path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // argv[0] is the shim (berthd's own command line names berth-shim too).
    std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (argv0.size() < 10 || argv0.compare(argv0.size() - 10, 10, "berth-shim") != 0) continue;
    if (cmdline.find(state_dir) == std::string::npos) continue;
    found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

}  // namespace berth::test

namespace berth::test {

std::vector<pid_t> shims_left(const std::string& state_dir, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = shims_under(state_dir);
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    left = shims_under(state_dir);
  }
  return left;
}

}  // namespace berth::test
