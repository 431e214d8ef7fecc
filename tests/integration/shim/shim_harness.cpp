#include "shim_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/schema.h>
#include <dirent.h>

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

bool shim_client::pump_until(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    io_.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io_.waitScope);
  }
  return pred();
}

void shim_client::pump(int ms) {
  io_.provider->getTimer().afterDelay(ms * kj::MILLISECONDS).wait(io_.waitScope);
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

std::vector<int> zombie_children(int pid) {
  std::vector<int> found;
  DIR* d = opendir("/proc");
  if (!d) return found;
  while (dirent* e = readdir(d)) {
    int child = atoi(e->d_name);
    if (child <= 0) continue;
    // "pid (comm) S ppid ...": comm may hold spaces, so parse after the last ')'.
    std::string stat = read_text("/proc/" + std::to_string(child) + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos || close_paren + 4 > stat.size()) continue;
    char state = stat[close_paren + 2];
    int ppid = atoi(stat.c_str() + close_paren + 4);
    if (ppid == pid && state == 'Z') found.push_back(child);
  }
  closedir(d);
  return found;
}

bool runc_knows(const std::string& id) {
  return run_command({"runc", "state", id}).exit_code == 0;
}

test_shim::test_shim(const std::string& id, const bundle_options& opts, const std::string& runtime,
                     const std::string& state_dir) {
  args.id = id;
  args.bundle = dir / "bundle";
  args.runtime = runtime;
  args.state_dir = state_dir.empty() || state_dir.front() == '/' ? state_dir : dir / state_dir;
  make_busybox_bundle(args.bundle, opts);
  auto r = start_shim(args);
  if (r.exit_code != 0) {
    throw std::runtime_error("berth-shim start failed (" + std::to_string(r.exit_code) +
                             "): " + r.err);
  }
  address = r.out;
}

test_shim::~test_shim() {
  delete_shim(args);
}

// ---- one call each ----------------------------------------------------------

namespace {
void set_stdio(wire::Stdio::Builder b, const stdio_spec& io) {
  b.setStdin(io.in);
  b.setStdout(io.out);
  b.setStderr(io.err);
  b.setTerminal(io.terminal);
  b.setOpenStdin(io.open_stdin);
}
}  // namespace

namespace rpc {

capnp::Response<Task::CreateResults> create(shim_client& c, const std::string& id,
                                            const std::string& bundle, const stdio_spec& io) {
  auto req = c.task().createRequest();
  auto r = req.initReq();
  r.setId(id);
  r.setBundle(bundle);
  set_stdio(r.initStdio(), io);
  return answer(c, req.send(), "create");
}

capnp::Response<Task::StartResults> start(shim_client& c, const std::string& exec_id) {
  auto req = c.task().startRequest();
  req.initReq().setExecId(exec_id);
  return answer(c, req.send(), "start");
}

capnp::Response<Task::StateResults> state(shim_client& c, const std::string& exec_id) {
  auto req = c.task().stateRequest();
  req.initReq().setExecId(exec_id);
  return answer(c, req.send(), "state");
}

capnp::Response<Task::KillResults> kill(shim_client& c, int signal, const std::string& exec_id,
                                        bool all) {
  auto req = c.task().killRequest();
  auto r = req.initReq();
  r.setExecId(exec_id);
  r.setSignal(static_cast<uint32_t>(signal));
  r.setAll(all);
  return answer(c, req.send(), "kill");
}

capnp::Response<Task::ExecResults> exec(shim_client& c, const std::string& exec_id,
                                        const std::vector<std::string>& args,
                                        const stdio_spec& io) {
  auto req = c.task().execRequest();
  auto r = req.initReq();
  r.setExecId(exec_id);
  auto list = r.initSpec().initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i) list.set(i, args[i]);
  set_stdio(r.initStdio(), io);
  return answer(c, req.send(), "exec");
}

capnp::Response<Task::WaitResults> wait(shim_client& c, const std::string& exec_id) {
  auto req = c.task().waitRequest();
  req.initReq().setExecId(exec_id);
  return answer(c, req.send(), "wait");
}

capnp::Response<Task::DeleteResults> remove(shim_client& c, const std::string& exec_id) {
  auto req = c.task().deleteRequest();
  req.initReq().setExecId(exec_id);
  return answer(c, req.send(), "remove");
}

capnp::Response<Task::PauseResults> pause(shim_client& c) {
  auto req = c.task().pauseRequest();
  req.initReq();
  return answer(c, req.send(), "pause");
}

capnp::Response<Task::ResumeResults> resume(shim_client& c) {
  auto req = c.task().resumeRequest();
  req.initReq();
  return answer(c, req.send(), "resume");
}

capnp::Response<Task::ShutdownResults> shutdown(shim_client& c, bool now) {
  auto req = c.task().shutdownRequest();
  req.initReq().setNow(now);
  return answer(c, req.send(), "shutdown");
}

}  // namespace rpc

std::string code_name(wire::ErrorCode code) {
  auto enumerants = capnp::Schema::from<wire::ErrorCode>().getEnumerants();
  auto i = static_cast<unsigned>(code);
  if (i >= enumerants.size()) return "code " + std::to_string(i);
  return enumerants[i].getProto().getName();
}

}  // namespace berth::test
