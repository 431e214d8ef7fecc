#include "shim_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace berth::test {

command_result run_command(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  command_result r;
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    r.err = "cannot run " + argv[0];
    return r;
  }
  // The shim's daemon child inherits nothing of ours, so EOF comes when the
  // foreground process exits.
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_count = 2;
  char buf[4096];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string build_path(const std::string& relative) {
  const char* dir = getenv("BERTH_BUILD_DIR");
  return std::string(dir ? dir : ".") + "/" + relative;
}

std::string source_path(const std::string& relative) {
  const char* dir = getenv("BERTH_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/" + relative;
}

static std::vector<std::string> shim_argv(const char* verb, const shim_args& a) {
  std::vector<std::string> v = {build_path("shim/berth-shim"),
                                verb,
                                "--namespace",
                                a.ns,
                                "--id",
                                a.id,
                                "--bundle",
                                a.bundle,
                                "--runtime",
                                a.runtime};
  v.push_back("--state-dir");
  v.push_back(a.state_dir.empty() ? a.bundle : a.state_dir);
  return v;
}

command_result start_shim(const shim_args& a) {
  auto r = run_command(shim_argv("start", a));
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r;
}

command_result delete_shim(const shim_args& a) {
  return run_command(shim_argv("delete", a));
}

shim_client::shim_client(const std::string& address) : io_(kj::setupAsyncIo()) {
  reconnect(address);
}

shim_client::~shim_client() {
  disconnect();
}

void shim_client::reconnect(const std::string& address) {
  disconnect();
  std::string path = address.rfind("unix:", 0) == 0 ? address.substr(5) : address;
  auto addr = io_.provider->getNetwork().parseAddress(("unix:" + path).c_str()).wait(io_.waitScope);
  stream_ = addr->connect().wait(io_.waitScope);
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
  task_ = rpc_->bootstrap().castAs<wire::shim::Task>();
}

void shim_client::disconnect() {
  task_ = nullptr;
  rpc_ = nullptr;
  stream_ = nullptr;
}

int shim_pid(const std::string& state_dir) {
  std::ifstream f(state_dir + "/shim.pid");
  int pid = 0;
  f >> pid;
  return pid;
}

bool process_alive(int pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  // A zombie is not alive.
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_s, comm, state;
  f >> pid_s >> comm >> state;
  return state != "Z";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool eventually(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace berth::test
