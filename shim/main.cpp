// berth-shim: supervises one task for berthd (see shim/README.md).
//   berth-shim start  --namespace NS --id ID --bundle DIR --runtime R --state-dir DIR
//   berth-shim delete --namespace NS --id ID --bundle DIR [--runtime R]
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

#include "schema/identifier.hpp"
#include "shim/core/kernel_host.hpp"
#include "shim/core/leftover_container.hpp"
#include "shim/core/peer_aware_stream.hpp"
#include "shim/core/reaper.hpp"
#include "shim/core/runc_runtime.hpp"
#include "shim/core/socket_address.hpp"
#include "shim/core/task.hpp"
#include "shim/core/task_service.hpp"
#include "shim/runc/runc_client.hpp"

namespace {

using namespace berth;

struct options {
  std::string ns = "default", id, bundle, runtime = "runc", state_dir, runtime_root,
              log_level = "info";
};

[[noreturn]] void die(const std::string& message) {
  std::cerr << "berth-shim: " << message << "\n";
  std::exit(1);
}

// Finds an executable the way execvp would; empty when there is none.
std::string resolve_binary(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

void validate(options& o, bool need_state_dir) {
  if (auto e = check_identifier("namespace", o.ns)) die(*e);
  if (auto e = check_identifier("task id", o.id)) die(*e);
  if (o.bundle.empty() || o.bundle.front() != '/')
    die("invalid bundle \"" + o.bundle + "\": must be an absolute path");
  struct stat st {};
  if (stat(o.bundle.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    die("bundle " + o.bundle + " does not exist or is not a directory");
  }
  if (need_state_dir && (o.state_dir.empty() || o.state_dir.front() != '/')) {
    die("invalid state dir \"" + o.state_dir + "\": must be an absolute path");
  }
  std::string resolved = resolve_binary(o.runtime);
  if (resolved.empty())
    die("unknown runtime \"" + o.runtime + "\": no such executable (try runc or crun)");
  o.runtime = resolved;
}

void mkdir_p(const std::string& dir, mode_t mode) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
        die("cannot create directory " + part + ": " + std::strerror(errno));
      }
    }
  }
}

int listen_socket(const std::string& path) {
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Only root (the daemon) may talk to a shim: set the mode before anyone can connect.
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(errno));
  }
  return fd;
}

kj::Promise<void> accept_loop(kj::ConnectionReceiver& listener, capnp::TwoPartyServer& server) {
  return listener.accept().then([&](kj::Own<kj::AsyncIoStream>&& connection) {
    server.accept(kj::heap<shim::peer_aware_stream>(kj::mv(connection)));
    return accept_loop(listener, server);
  });
}

// The daemon side of `start`, after fork: runs until shutdown.
int serve(const options& o, const std::string& socket_path, int ready_fd) {
  shim::reaper::block_sigchld();
  signal(SIGPIPE, SIG_IGN);
  try {
    auto log = spdlog::basic_logger_mt("shim", o.bundle + "/shim.log");
    log->set_level(spdlog::level::from_str(o.log_level));
    log->flush_on(spdlog::level::info);
    spdlog::set_default_logger(log);
  } catch (const std::exception& e) {
    std::string msg = std::string("cannot open shim log: ") + e.what() + "\n";
    (void)!write(ready_fd, msg.data(), msg.size());
    return 1;
  }

  auto io = kj::setupAsyncIo();
  shim::reaper reaper(io.unixEventPort);
  // The task's host: the real runtime (its invocations reaped by `reaper`), mount(2) and kill(2).
  shim::runc_runtime runtime({o.runtime, o.runtime_root, o.bundle}, reaper,
                             io.provider->getTimer());
  shim::kernel_mounter mounts;
  shim::kernel_signaller signals;
  shim::task task(io, {o.ns, o.id, o.bundle, o.state_dir}, {runtime, mounts, signals});
  // Every pid the reaper is not watching for the runtime is the container's.
  reaper.on_exit([&task](pid_t pid, int status) { task.reaped(pid, status); });

  kj::Own<kj::ConnectionReceiver> listener;
  try {
    int fd = listen_socket(socket_path);
    listener = io.lowLevelProvider->wrapListenSocketFd(
        fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
    std::ofstream(o.state_dir + "/shim.pid") << getpid() << "\n";
  } catch (const std::exception& e) {
    std::string msg = std::string(e.what()) + "\n";
    (void)!write(ready_fd, msg.data(), msg.size());
    return 1;
  }
  capnp::TwoPartyServer server(kj::heap<shim::task_service>(task));
  auto listening = accept_loop(*listener, server).eagerlyEvaluate([](kj::Exception&& e) {
    spdlog::error("listener failed: {}", e.getDescription().cStr());
  });
  auto reaping = reaper.run().eagerlyEvaluate(
      [](kj::Exception&& e) { spdlog::error("reaper failed: {}", e.getDescription().cStr()); });
  spdlog::info("shim for {}/{} serving on {} (runtime {})", o.ns, o.id, socket_path, o.runtime);
  (void)!write(ready_fd, "ok\n", 3);
  close(ready_fd);

  // An idle shim should hold as little private memory as it can: pages freed
  // after a burst of calls (connections, containers starting) go back to the
  // kernel every few seconds.
  auto trimming =
      [&io]() {
        struct trimmer {
          static kj::Promise<void> loop(kj::Timer& timer) {
            return timer.afterDelay(3 * kj::SECONDS).then([&timer]() {
              malloc_trim(0);
              return loop(timer);
            });
          }
        };
        malloc_trim(0);
        return trimmer::loop(io.provider->getTimer());
      }()
          .eagerlyEvaluate(nullptr);

  // The socket and the pid file go as soon as shutdown is accepted, while
  // they are surely this shim's: a new shim of a task with the same id may
  // make its own at the same paths while this one finishes the runtime's
  // delete (task::when_released). The reply gets a moment to leave.
  task.when_shutdown()
      .then([&]() {
        spdlog::info("shim for {}/{} shutting down", o.ns, o.id);
        unlink(socket_path.c_str());
        unlink((o.state_dir + "/shim.pid").c_str());
        return io.provider->getTimer().afterDelay(20 * kj::MILLISECONDS);
      })
      .then([&]() { return task.when_released(); })
      .wait(io.waitScope);
  reaper.on_exit(nullptr);
  return 0;
}

int cmd_start(options o) {
  validate(o, true);
  mkdir_p(o.state_dir, 0711);
  const std::string socket_path = shim::shim_socket_path(o.state_dir);
  if (socket_path.rfind(o.state_dir, 0) != 0) mkdir_p("/run/berth-shim", 0700);

  // A live shim for this task already answers: starting is idempotent.
  if (int fd = shim::connect_unix(socket_path); fd >= 0) {
    close(fd);
    std::cout << "unix:" << socket_path << std::endl;
    return 0;
  }

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) die(std::string("pipe: ") + std::strerror(errno));
  std::cout.flush();
  pid_t pid = fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(ready[0]);
    setsid();
    // Orphaned container processes (runc's double fork) become our children.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
    // Nothing inherited may stay open: keep only the readiness pipe.
    if (ready[1] != 3) {
      dup2(ready[1], 3);
      close(ready[1]);
    }
    close_range(4, ~0U, 0);
    if (chdir("/") != 0) _exit(1);
    _exit(serve(o, socket_path, 3));
  }
  close(ready[1]);
  std::string answer;
  char buf[512];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(ready[0]);
  if (answer.rfind("ok", 0) == 0) {
    std::cout << "unix:" << socket_path << std::endl;
    return 0;
  }
  if (answer.empty()) answer = "the shim exited before it was ready\n";
  std::cerr << "berth-shim: cannot start shim for " << o.ns << "/" << o.id << ": " << answer;
  return 1;
}

// True when `pid` is a berth-shim serving task `id` (its daemon keeps the
// command line of `berth-shim start ... --id ID`). A shim.pid left by a dead
// shim may name a pid the kernel has since given to an unrelated process.
bool is_shim_of(pid_t pid, const std::string& id) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  for (std::string a; std::getline(f, a, '\0');) args.push_back(a);
  if (args.empty()) return false;
  const std::string& prog = args[0];
  const std::string base =
      prog.substr(prog.rfind('/') == std::string::npos ? 0 : prog.rfind('/') + 1);
  if (base != "berth-shim") return false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--id=" + id) return true;
    if (args[i] == "--id" && i + 1 < args.size() && args[i + 1] == id) return true;
  }
  return false;
}

int cmd_delete(options o) {
  validate(o, false);
  if (!o.state_dir.empty()) {
    const std::string pid_path = o.state_dir + "/shim.pid";
    std::ifstream pf(pid_path);
    pid_t shim_pid = 0;
    // A hung shim counts as dead; a stranger who inherited its pid is left alone.
    // It goes first, so it cannot race the cleanup below (record an exit, re-create).
    if (pf >> shim_pid && shim_pid > 1 && is_shim_of(shim_pid, o.id)) kill(shim_pid, SIGKILL);
    unlink(shim::shim_socket_path(o.state_dir).c_str());
    unlink(pid_path.c_str());
  }
  // A runtime still creating the container (the shim died mid-create)
  // would finish after the delete below and leave `runc init` behind.
  if (int n = shim::kill_runtime_processes(o.bundle, o.runtime); n > 0)
    std::cerr << "berth-shim: killed " << n << " runtime process(es) still working on " << o.bundle
              << "\n";
  runc::runc_client runc({o.runtime, o.runtime_root, o.bundle, std::nullopt});
  auto err = runc.run_sync("delete", runc::runc_client::delete_args(o.id, true));
  // A container that is already gone is what we want; anything else is worth saying.
  if (err && err->find("does not exist") == std::string::npos &&
      err->find("not exist") == std::string::npos) {
    std::cerr << "berth-shim: " << *err << "\n";
  }
  // What the runtime never recorded, it cannot delete: whatever still runs
  // in the container's cgroup is ended and the cgroup removed.
  if (auto cgroup = shim::bundle_cgroup(o.bundle); !cgroup.empty()) {
    std::string why;
    if (int n = shim::sweep_cgroup(cgroup, o.bundle, o.runtime, why); n > 0)
      std::cerr << "berth-shim: killed " << n << " process(es) the runtime did not know, in cgroup "
                << cgroup << "\n";
    if (!why.empty()) std::cerr << "berth-shim: " << why << "\n";
  }
  umount2((o.bundle + "/rootfs").c_str(), MNT_DETACH);
  std::ifstream exit_file(o.bundle + "/init.exit");
  int code = 255, sig = 0;
  long long at = 0;
  std::string reason;
  if (!(exit_file >> code >> sig >> at)) {
    code = 255;
    reason = "the shim died before it recorded an exit status";
  }
  unlink((o.bundle + "/init.pid").c_str());
  std::cout << "{\"exit_status\":" << code << ",\"signal\":" << sig << ",\"exited_at\":" << at
            << ",\"reason\":\"" << reason << "\"}" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-shim: supervises one task through runc or crun"};
  app.require_subcommand(1);
  options o;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--namespace", o.ns, "namespace of the task")->capture_default_str();
    sub->add_option("--id", o.id, "task id")->required();
    sub->add_option("--bundle", o.bundle, "OCI bundle directory")->required();
    sub->add_option("--runtime", o.runtime, "runc, crun, or a path")->capture_default_str();
    sub->add_option("--runtime-root", o.runtime_root, "the runtime's --root");
    sub->add_option("--state-dir", o.state_dir, "where shim.sock and shim.pid live");
  };
  auto* start = app.add_subcommand("start", "start a shim for a task and print its address");
  common(start);
  start->add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  auto* del = app.add_subcommand("delete", "clean up after a shim that died");
  common(del);
  CLI11_PARSE(app, argc, argv);
  if (start->parsed()) return cmd_start(o);
  return cmd_delete(o);
}
