#include "shim/core/task.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "schema/identifier.hpp"
#include "shim/core/cgroup_stats.hpp"
#include "shim/core/socket_address.hpp"

namespace berth::shim {
namespace {

using wire::ErrorCode;

// How long an exit waits for the process's output to drain before it is
// published anyway (a daemonized grandchild may hold the pipe open forever).
constexpr auto kDrainTimeout = 2 * kj::SECONDS;

failure to_failure(const state_error& e) {
  return {e.code == error_code::not_found ? ErrorCode::NOT_FOUND : ErrorCode::FAILED_PRECONDITION,
          e.message};
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool write_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << content)) return false;
  }
  return rename(tmp.c_str(), path.c_str()) == 0;
}

// Accepts the runtime's connection on the console socket and takes the pty
// master it sends with SCM_RIGHTS. The runtime has exited by now, so the
// connection (if it came) is queued and this never blocks.
int receive_console(int listen_fd, std::string& error) {
  int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (conn < 0) {
    error = std::string("no terminal was received from the runtime: ") + std::strerror(errno);
    return -1;
  }
  char name[256];
  iovec iov{name, sizeof name};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  close(conn);
  cmsghdr* c = n >= 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) {
    error = "the runtime sent no terminal file descriptor";
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

int listen_unix(const std::string& path, std::string& error) {
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || path.size() > kMaxSocketPath) {
    error = "cannot create console socket " + path;
    if (fd >= 0) close(fd);
    return -1;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1) != 0) {
    error = "cannot listen on console socket " + path + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct task::process {
  std::string exec_id;  // empty: init
  process_kind kind = process_kind::init;
  process_state st = created_state{};
  pid_t pid = 0;
  std::optional<exit_record> exit;
  bool exit_published = false;
  std::string process_json;  // exec only: the OCI process to run
  stdio_paths stdio;
  std::unique_ptr<process_io> io;
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> waiters;
  kj::Promise<void> draining = nullptr;
};

void task::log_errors::taskFailed(kj::Exception&& e) {
  spdlog::error("background task failed: {}", e.getDescription().cStr());
}

task::task(kj::AsyncIoContext& io, reaper& r, task_config cfg)
    : io_(io),
      reaper_(r),
      cfg_(std::move(cfg)),
      runc_(cfg_.runtime),
      events_(cfg_.ns, cfg_.id),
      shutdown_promise_(nullptr),
      background_(log_errors_) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  shutdown_fulfiller_ = kj::mv(paf.fulfiller);
  shutdown_promise_ = paf.promise.fork();
  reaper_.on_exit([this](pid_t pid, int status) { on_reaped(pid, status); });
}

task::~task() { reaper_.on_exit(nullptr); }

task::process* task::find(const std::string& exec_id) {
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(exec_id);
  return it == execs_.end() ? nullptr : it->second.get();
}

const task::process* task::find(const std::string& exec_id) const {
  return const_cast<task*>(this)->find(exec_id);
}

maybe_failure task::check(const process& p, operation op) const {
  if (auto e = berth::shim::check(p.st, p.kind, cfg_.id, p.exec_id, op)) return to_failure(*e);
  return std::nullopt;
}

// Moves to the next state only if nothing (an exit, above all) changed the
// state while the runtime ran.
void task::apply(process& p, status before, operation op) {
  if (of(p.st) == before) p.st = after(p.st, op);
}

kj::Promise<maybe_failure> task::run_runtime(std::string op, std::vector<std::string> args,
                                             runc::spawn_stdio stdio, std::string* captured) {
  runc::invocation inv;
  try {
    inv = runc_.spawn(op, args, stdio);
  } catch (const std::exception& e) {
    return maybe_failure(failure{ErrorCode::INTERNAL, e.what()});
  }
  pid_t pid = inv.pid;
  auto owned = kj::heap<runc::invocation>(std::move(inv));
  return reaper_.watch(pid).then(
      [this, owned = kj::mv(owned), captured](int status) mutable -> maybe_failure {
        if (captured) *captured = runc::runc_client::read_captured(*owned);
        if (auto err = runc_.finish(*owned, status)) return failure{ErrorCode::INTERNAL, *err};
        return std::nullopt;
      });
}

// ---- create / start ---------------------------------------------------------

kj::Promise<maybe_failure> task::create(stdio_paths stdio, std::vector<mount_spec> rootfs,
                                        std::string checkpoint, pid_t& pid_out) {
  if (init_) {
    return maybe_failure(failure{ErrorCode::ALREADY_EXISTS,
                                 "cannot create task " + cfg_.id + ": it was already created"});
  }
  if (!checkpoint.empty()) {
    return maybe_failure(failure{ErrorCode::UNAVAILABLE,
                                 "cannot create task " + cfg_.id +
                                     " from a checkpoint: CRIU cannot restore on this machine"});
  }
  const std::string config_path = cfg_.bundle + "/config.json";
  struct stat st{};
  if (stat(cfg_.bundle.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT,
                                 "cannot create task " + cfg_.id + ": bundle " + cfg_.bundle +
                                     " is not a directory"});
  }
  nlohmann::json config;
  try {
    std::ifstream f(config_path);
    if (!f) throw std::runtime_error("cannot be read");
    config = nlohmann::json::parse(f);
    if (!config.is_object() || !config.contains("process")) {
      throw std::runtime_error("has no \"process\" object");
    }
  } catch (const std::exception& e) {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT, "cannot create task " + cfg_.id +
                                                                  ": " + config_path + " " +
                                                                  e.what()});
  }
  bool terminal = config["process"].value("terminal", false);
  if (terminal != stdio.terminal) {
    return maybe_failure(failure{
        ErrorCode::INVALID_ARGUMENT,
        "cannot create task " + cfg_.id + ": config.json has process.terminal=" +
            (terminal ? "true" : "false") + " but the request asks for " +
            (stdio.terminal ? "a terminal" : "no terminal")});
  }
  if (auto err = mount_rootfs(rootfs)) {
    return maybe_failure(failure{ErrorCode::INTERNAL, "cannot create task " + cfg_.id + ": " + *err});
  }

  auto p = std::make_unique<process>();
  p->stdio = stdio;
  try {
    if (!log_.is_open()) log_ = task_log(cfg_.bundle + "/task.log");
    p->io = std::make_unique<process_io>(*io_.lowLevelProvider, io_.unixEventPort, stdio, &log_);
  } catch (const std::exception& e) {
    unmount_rootfs();
    return maybe_failure(
        failure{ErrorCode::INVALID_ARGUMENT, "cannot create task " + cfg_.id + ": " + e.what()});
  }

  int console_fd = -1;
  std::string console_path;
  if (stdio.terminal) {
    std::string error;
    console_path = console_socket_path();
    console_fd = listen_unix(console_path, error);
    if (console_fd < 0) {
      unmount_rootfs();
      return maybe_failure(failure{ErrorCode::INTERNAL, error});
    }
  }
  const std::string pid_file = cfg_.bundle + "/init.pid";
  unlink(pid_file.c_str());
  runc::spawn_stdio rio{p->io->child_stdin(), p->io->child_stdout(), p->io->child_stderr()};
  auto run = run_runtime("create",
                         runc::runc_client::create_args(cfg_.id, cfg_.bundle, pid_file, console_path),
                         rio);
  p->io->start_copying();
  init_ = std::move(p);  // reserve the slot: a second create is refused while this one runs
  return run.then([this, pid_file, console_fd, console_path, &pid_out](maybe_failure err) {
    auto cleanup_console = [&] {
      if (console_fd >= 0) close(console_fd);
      if (!console_path.empty()) unlink(console_path.c_str());
    };
    if (!err) {
      std::string pid_text = read_file(pid_file);
      init_->pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
      if (init_->pid <= 0) err = failure{ErrorCode::INTERNAL, "runtime wrote no pid to " + pid_file};
    }
    if (!err && console_fd >= 0) {
      std::string error;
      int master = receive_console(console_fd, error);
      if (master < 0) {
        err = failure{ErrorCode::INTERNAL, error};
      } else {
        init_->io->attach_console(master);
      }
    }
    cleanup_console();
    if (err) {
      if (init_->pid > 0) {
        // Half-created: make sure nothing stays behind.
        runc_.run_sync("delete", runc::runc_client::delete_args(cfg_.id, true));
      }
      init_.reset();
      unmount_rootfs();
      err->message = "cannot create task " + cfg_.id + ": " + err->message;
      return err;
    }
    pid_out = init_->pid;
    spdlog::info("task {} created, init pid {}", cfg_.id, init_->pid);
    events_.publish("/tasks/create", [this](wire::Event::Builder e) {
      auto c = e.initTaskCreate();
      c.setPid(static_cast<uint32_t>(init_->pid));
      c.setBundle(cfg_.bundle);
    });
    if (auto it = unclaimed_exits_.find(init_->pid); it != unclaimed_exits_.end()) {
      int status = it->second;
      unclaimed_exits_.erase(it);
      handle_exit(*init_, status);
    }
    return err;
  });
}

kj::Promise<maybe_failure> task::start(std::string exec_id, pid_t& pid_out) {
  process* p = find(exec_id);
  if (!p) {
    return maybe_failure(failure{ErrorCode::NOT_FOUND, exec_id.empty()
                                                           ? "task " + cfg_.id + " was not created"
                                                           : "exec " + exec_id + " of task " +
                                                                 cfg_.id + " not found"});
  }
  if (auto e = check(*p, operation::start)) return maybe_failure(e);
  if (p->kind == process_kind::init) {
    status before = of(p->st);
    return run_runtime("start", runc::runc_client::start_args(cfg_.id))
        .then([this, before, &pid_out](maybe_failure err) {
          if (err) return err;
          apply(*init_, before, operation::start);
          pid_out = init_->pid;
          events_.publish("/tasks/start", [this](wire::Event::Builder e) {
            e.initTaskStart().setPid(static_cast<uint32_t>(init_->pid));
          });
          return err;
        });
  }

  // An exec starts only while init runs: once init is reaped nothing new may start.
  if (!init_ || of(init_->st) != status::running) {
    return maybe_failure(failure{ErrorCode::FAILED_PRECONDITION,
                                 "cannot start exec " + exec_id + " of task " + cfg_.id +
                                     ": task is " + std::string(init_ ? name(init_->st) : "gone")});
  }
  const std::string spec_path = cfg_.bundle + "/exec-" + exec_id + ".json";
  const std::string pid_file = cfg_.bundle + "/exec-" + exec_id + ".pid";
  if (!write_file(spec_path, p->process_json)) {
    return maybe_failure(failure{ErrorCode::INTERNAL, "cannot write " + spec_path});
  }
  unlink(pid_file.c_str());
  try {
    p->io = std::make_unique<process_io>(*io_.lowLevelProvider, io_.unixEventPort, p->stdio,
                                         nullptr);
  } catch (const std::exception& e) {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT, "cannot start exec " + exec_id +
                                                                  " of task " + cfg_.id + ": " +
                                                                  e.what()});
  }
  int console_fd = -1;
  std::string console_path;
  if (p->stdio.terminal) {
    std::string error;
    console_path = console_socket_path() + "." + exec_id;
    console_fd = listen_unix(console_path, error);
    if (console_fd < 0) return maybe_failure(failure{ErrorCode::INTERNAL, error});
  }
  runc::spawn_stdio rio{p->io->child_stdin(), p->io->child_stdout(), p->io->child_stderr()};
  auto run = run_runtime(
      "exec",
      runc::runc_client::exec_args(cfg_.id, spec_path, pid_file, console_path, true), rio);
  p->io->start_copying();
  return run.then([this, exec_id, spec_path, pid_file, console_fd, console_path,
                   &pid_out](maybe_failure err) {
    process* p = find(exec_id);
    unlink(spec_path.c_str());
    if (!err && p) {
      p->pid = static_cast<pid_t>(std::atoi(read_file(pid_file).c_str()));
      unlink(pid_file.c_str());
      if (p->pid <= 0) err = failure{ErrorCode::INTERNAL, "runtime wrote no pid to " + pid_file};
    }
    if (!err && p && console_fd >= 0) {
      std::string error;
      int master = receive_console(console_fd, error);
      if (master < 0) {
        err = failure{ErrorCode::INTERNAL, error};
      } else {
        p->io->attach_console(master);
      }
    }
    if (console_fd >= 0) close(console_fd);
    if (!console_path.empty()) unlink(console_path.c_str());
    if (err || !p) {
      if (p) p->io.reset();
      if (!err) err = failure{ErrorCode::NOT_FOUND, "exec " + exec_id + " was deleted"};
      err->message = "cannot start exec " + exec_id + " of task " + cfg_.id + ": " + err->message;
      return err;
    }
    p->st = running_state{};
    pid_out = p->pid;
    events_.publish("/tasks/exec-started", [&](wire::Event::Builder e) {
      auto s = e.initTaskExecStarted();
      s.setExecId(exec_id);
      s.setPid(static_cast<uint32_t>(p->pid));
    });
    if (auto it = unclaimed_exits_.find(p->pid); it != unclaimed_exits_.end()) {
      int status = it->second;
      unclaimed_exits_.erase(it);
      handle_exit(*p, status);
    }
    return err;
  });
}

// ---- queries ---------------------------------------------------------------

maybe_failure task::state(const std::string& exec_id, process_view& out) const {
  const process* p = find(exec_id);
  if (!p) {
    return failure{ErrorCode::NOT_FOUND, exec_id.empty()
                                             ? "task " + cfg_.id + " was not created"
                                             : "exec " + exec_id + " of task " + cfg_.id +
                                                   " not found"};
  }
  out.exec_id = p->exec_id;
  out.pid = p->pid;
  out.st = of(p->st);
  out.stdio = p->stdio;
  out.exit = p->exit;
  return std::nullopt;
}

kj::Promise<maybe_failure> task::pids(std::vector<process_entry>& out) {
  if (!init_) return maybe_failure(failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"});
  if (auto e = check(*init_, operation::pids)) return maybe_failure(e);
  auto text = kj::heap<std::string>();
  std::string* raw = text.get();
  runc::spawn_stdio io;
  io.capture_stdout = true;
  return run_runtime("ps", runc::runc_client::ps_args(cfg_.id), io, raw)
      .then([this, text = kj::mv(text), &out](maybe_failure err) -> maybe_failure {
        if (err) return err;
        try {
          for (int pid : runc::parse_ps_output(*text)) {
            process_entry entry{pid, {}};
            for (auto& [id, p] : execs_) {
              if (p->pid == pid) entry.exec_id = id;
            }
            out.push_back(entry);
          }
        } catch (const std::exception& e) {
          return failure{ErrorCode::INTERNAL, e.what()};
        }
        return std::nullopt;
      });
}

maybe_failure task::stats(wire::Stats::Builder out) const {
  if (!init_) return failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"};
  if (auto e = check(*init_, operation::stats)) return e;
  cgroup_usage u;
  if (auto err = read_cgroup_usage(init_->pid, u)) {
    return failure{ErrorCode::INTERNAL, "cannot read stats of task " + cfg_.id + ": " + *err};
  }
  out.setMemoryUsage(u.memory_usage);
  out.setMemoryLimit(u.memory_limit);
  out.setCpuUsageNs(u.cpu_usage_ns);
  out.setPidsCurrent(u.pids_current);
  out.setPidsLimit(u.pids_limit);
  return std::nullopt;
}

// ---- pause / resume / kill / update / checkpoint ---------------------------

kj::Promise<maybe_failure> task::pause() {
  if (!init_) return maybe_failure(failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"});
  if (auto e = check(*init_, operation::pause)) return maybe_failure(e);
  status before = of(init_->st);
  return run_runtime("pause", runc::runc_client::pause_args(cfg_.id))
      .then([this, before](maybe_failure err) {
        if (err) return err;
        apply(*init_, before, operation::pause);
        events_.publish("/tasks/paused", [](wire::Event::Builder e) { e.setTaskPaused(); });
        return err;
      });
}

kj::Promise<maybe_failure> task::resume() {
  if (!init_) return maybe_failure(failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"});
  if (auto e = check(*init_, operation::resume)) return maybe_failure(e);
  status before = of(init_->st);
  return run_runtime("resume", runc::runc_client::resume_args(cfg_.id))
      .then([this, before](maybe_failure err) {
        if (err) return err;
        apply(*init_, before, operation::resume);
        events_.publish("/tasks/resumed", [](wire::Event::Builder e) { e.setTaskResumed(); });
        return err;
      });
}

kj::Promise<maybe_failure> task::kill(std::string exec_id, int signal, bool all) {
  if (signal <= 0 || signal >= 65) {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT,
                                 "invalid signal " + std::to_string(signal) + ": must be 1-64"});
  }
  process* p = find(exec_id);
  if (!p) {
    return maybe_failure(failure{ErrorCode::NOT_FOUND, exec_id.empty()
                                                           ? "task " + cfg_.id + " was not created"
                                                           : "exec " + exec_id + " of task " +
                                                                 cfg_.id + " not found"});
  }
  if (auto e = check(*p, operation::kill)) return maybe_failure(e);
  if (p->kind == process_kind::exec) {
    if (p->pid <= 0) {
      return maybe_failure(failure{ErrorCode::FAILED_PRECONDITION,
                                   "cannot kill exec " + exec_id + " of task " + cfg_.id +
                                       ": it was not started"});
    }
    if (::kill(p->pid, signal) != 0) {
      return maybe_failure(failure{ErrorCode::NOT_FOUND, "cannot kill exec " + exec_id +
                                                             " of task " + cfg_.id +
                                                             ": process already finished"});
    }
    return maybe_failure();
  }
  return run_runtime("kill", runc::runc_client::kill_args(cfg_.id, signal, all))
      .then([this](maybe_failure err) -> maybe_failure {
        // The process may have exited while runc ran; say so the way a user expects.
        if (err && init_ && of(init_->st) == status::stopped) {
          return failure{ErrorCode::NOT_FOUND,
                         "cannot kill task " + cfg_.id + ": process already finished"};
        }
        return err;
      });
}

kj::Promise<maybe_failure> task::update(std::string resources_json) {
  if (!init_) return maybe_failure(failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"});
  if (auto e = check(*init_, operation::update)) return maybe_failure(e);
  const std::string path = cfg_.bundle + "/resources.json";
  if (!write_file(path, resources_json)) {
    return maybe_failure(failure{ErrorCode::INTERNAL, "cannot write " + path});
  }
  return run_runtime("update", runc::runc_client::update_args(cfg_.id, path))
      .then([path](maybe_failure err) {
        unlink(path.c_str());
        return err;
      });
}

kj::Promise<maybe_failure> task::checkpoint(std::string path, bool exit) {
  if (!init_) return maybe_failure(failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"});
  if (auto e = check(*init_, operation::checkpoint)) return maybe_failure(e);
  if (path.empty() || path.front() != '/') {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT,
                                 "invalid checkpoint path \"" + path + "\": must be absolute"});
  }
  mkdir(path.c_str(), 0700);
  status before = of(init_->st);
  return run_runtime("checkpoint",
                     runc::runc_client::checkpoint_args(cfg_.id, path, !exit, path + ".work"))
      .then([this, before](maybe_failure err) -> maybe_failure {
        if (err) {
          // CRIU failing is the machine's limit, not a bug: say why in CRIU's words.
          err->code = ErrorCode::UNAVAILABLE;
          err->message = "cannot checkpoint task " + cfg_.id + ": " + err->message;
          return err;
        }
        apply(*init_, before, operation::checkpoint);
        return std::nullopt;
      });
}

// ---- exec / wait / delete / io ---------------------------------------------

maybe_failure task::exec(std::string exec_id, std::string process_json, stdio_paths stdio) {
  if (auto err = check_identifier("exec id", exec_id)) {
    return failure{ErrorCode::INVALID_ARGUMENT, *err};
  }
  if (!init_) return failure{ErrorCode::NOT_FOUND, "task " + cfg_.id + " was not created"};
  if (auto e = check(*init_, operation::exec)) return e;
  if (execs_.count(exec_id)) {
    return failure{ErrorCode::ALREADY_EXISTS,
                   "exec " + exec_id + " of task " + cfg_.id + " already exists"};
  }
  // The exec inherits what the container's own process has (capabilities,
  // rlimits, apparmor...) and overrides args, env, cwd, user and terminal.
  nlohmann::json proc;
  try {
    std::ifstream f(cfg_.bundle + "/config.json");
    proc = nlohmann::json::parse(f).at("process");
    auto req = nlohmann::json::parse(process_json);
    if (!req.is_object() || !req.contains("args") || !req["args"].is_array() ||
        req["args"].empty()) {
      return failure{ErrorCode::INVALID_ARGUMENT,
                     "invalid process for exec " + exec_id + ": args must not be empty"};
    }
    for (auto& [k, v] : req.items()) proc[k] = v;
    proc["terminal"] = stdio.terminal;
  } catch (const std::exception& e) {
    return failure{ErrorCode::INVALID_ARGUMENT,
                   "invalid process for exec " + exec_id + ": " + e.what()};
  }
  auto p = std::make_unique<process>();
  p->exec_id = exec_id;
  p->kind = process_kind::exec;
  p->process_json = proc.dump();
  p->stdio = std::move(stdio);
  execs_[exec_id] = std::move(p);
  events_.publish("/tasks/exec-added",
                  [&](wire::Event::Builder e) { e.initTaskExecAdded().setExecId(exec_id); });
  return std::nullopt;
}

kj::Promise<maybe_failure> task::wait(std::string exec_id, exit_record& out) {
  process* p = find(exec_id);
  if (!p) {
    return maybe_failure(failure{ErrorCode::NOT_FOUND, exec_id.empty()
                                                           ? "task " + cfg_.id + " was not created"
                                                           : "exec " + exec_id + " of task " +
                                                                 cfg_.id + " not found"});
  }
  if (p->exit_published) {
    out = *p->exit;
    return maybe_failure();
  }
  auto paf = kj::newPromiseAndFulfiller<void>();
  p->waiters.push_back(kj::mv(paf.fulfiller));
  return paf.promise.then([this, exec_id, &out]() -> maybe_failure {
    const process* p = find(exec_id);
    if (!p || !p->exit) return failure{ErrorCode::NOT_FOUND, "process was deleted"};
    out = *p->exit;
    return std::nullopt;
  });
}

kj::Promise<maybe_failure> task::remove(std::string exec_id, pid_t& pid_out, exit_record& out) {
  process* p = find(exec_id);
  if (!p) {
    return maybe_failure(failure{ErrorCode::NOT_FOUND, exec_id.empty()
                                                           ? "task " + cfg_.id + " was not created"
                                                           : "exec " + exec_id + " of task " +
                                                                 cfg_.id + " not found"});
  }
  if (auto e = check(*p, operation::delete_)) return maybe_failure(e);
  if (p->kind == process_kind::exec) {
    pid_out = p->pid;
    if (p->exit) out = *p->exit;
    execs_.erase(exec_id);
    return maybe_failure();
  }
  // Never-started init still sits in `runc init`: only --force removes it.
  bool force = of(p->st) != status::stopped;
  status before = of(p->st);
  return run_runtime("delete", runc::runc_client::delete_args(cfg_.id, force))
      .then([this, before, &pid_out, &out](maybe_failure err) {
        if (err) return err;
        apply(*init_, before, operation::delete_);
        if (!init_->exit) init_->exit = exit_record{137, SIGKILL, now_ns(), "deleted before it ran"};
        pid_out = init_->pid;
        out = *init_->exit;
        unmount_rootfs();
        unlink((cfg_.bundle + "/init.pid").c_str());
        const exit_record e = out;
        events_.publish("/tasks/delete", [&](wire::Event::Builder ev) {
          auto d = ev.initTaskDelete();
          d.setPid(static_cast<uint32_t>(pid_out));
          d.getStatus().setCode(e.code);
          d.getStatus().setSignal(e.signal);
          d.getStatus().setExitedAt(e.exited_at);
          d.getStatus().setReason(e.reason);
        });
        for (auto& w : init_->waiters) w->fulfill();
        init_->waiters.clear();
        return err;
      });
}

maybe_failure task::close_io(const std::string& exec_id) {
  process* p = find(exec_id);
  if (!p) return failure{ErrorCode::NOT_FOUND, "process " + exec_id + " of task " + cfg_.id + " not found"};
  if (auto e = check(*p, operation::close_io)) return e;
  if (p->io) p->io->close_stdin();
  return std::nullopt;
}

maybe_failure task::resize_pty(const std::string& exec_id, unsigned width, unsigned height) {
  process* p = find(exec_id);
  if (!p) return failure{ErrorCode::NOT_FOUND, "process " + exec_id + " of task " + cfg_.id + " not found"};
  if (auto e = check(*p, operation::resize_pty)) return e;
  if (!p->io || !p->io->resize(width, height)) {
    return failure{ErrorCode::FAILED_PRECONDITION,
                   "cannot resize the terminal of task " + cfg_.id + ": it has no terminal"};
  }
  return std::nullopt;
}

// ---- exits -----------------------------------------------------------------

void task::on_reaped(pid_t pid, int status) {
  if (init_ && init_->pid == pid && !init_->exit) return handle_exit(*init_, status);
  for (auto& [id, p] : execs_) {
    if (p->pid == pid && !p->exit) return handle_exit(*p, status);
  }
  // Not known yet (runc's pid file not read), or a grandchild we inherited as
  // subreaper. Keep a bounded number for later claims.
  if (unclaimed_exits_.size() > 1024) unclaimed_exits_.erase(unclaimed_exits_.begin());
  unclaimed_exits_[pid] = status;
}

void task::handle_exit(process& p, int status) {
  p.exit = exit_record{exit_code_of(status), signal_of(status), now_ns(), {}};
  if (berth::shim::check(p.st, p.kind, cfg_.id, p.exec_id, operation::exited) == std::nullopt) {
    p.st = after(p.st, operation::exited);
  }
  spdlog::info("task {}: {} pid {} exited with {}", cfg_.id,
               p.exec_id.empty() ? std::string("init") : "exec " + p.exec_id, p.pid, p.exit->code);
  if (p.kind == process_kind::init) write_exit_file(*p.exit);
  // Publish once its output has drained, so a waiter finds all of it written.
  kj::Promise<void> drained = p.io ? p.io->drained() : kj::Promise<void>(kj::READY_NOW);
  std::string exec_id = p.exec_id;
  background_.add(drained.exclusiveJoin(io_.provider->getTimer().afterDelay(kDrainTimeout))
                      .then([this, exec_id]() {
                        process* q = find(exec_id);
                        if (!q || !q->exit) return;
                        if (q->kind == process_kind::exec) {
                          publish_exit(*q);
                          maybe_publish_init_exit();
                        } else {
                          maybe_publish_init_exit();
                        }
                      }));
}

// Init's exit goes out after every exec's: a subscriber that sees the task
// exit knows no exec exit is still to come.
void task::maybe_publish_init_exit() {
  if (!init_ || !init_->exit || init_->exit_published) return;
  for (auto& [id, p] : execs_) {
    if (p->pid > 0 && !p->exit_published) return;
  }
  // Only once init's own output drained (handle_exit for init ran its timer).
  publish_exit(*init_);
}

void task::publish_exit(process& p) {
  if (p.exit_published) return;
  p.exit_published = true;
  const exit_record e = *p.exit;
  events_.publish("/tasks/exit", [&](wire::Event::Builder ev) {
    auto x = ev.initTaskExit();
    x.setExecId(p.exec_id);
    x.setPid(static_cast<uint32_t>(p.pid));
    x.getStatus().setCode(e.code);
    x.getStatus().setSignal(e.signal);
    x.getStatus().setExitedAt(e.exited_at);
  });
  for (auto& w : p.waiters) w->fulfill();
  p.waiters.clear();
}

void task::write_exit_file(const exit_record& e) {
  // What `berth-shim delete` reports if this shim dies before the daemon asks.
  write_file(cfg_.bundle + "/init.exit", std::to_string(e.code) + " " + std::to_string(e.signal) +
                                             " " + std::to_string(e.exited_at) + "\n");
}

// ---- rootfs ----------------------------------------------------------------

std::optional<std::string> task::mount_rootfs(const std::vector<mount_spec>& mounts) {
  if (mounts.empty()) return std::nullopt;
  const std::string target = cfg_.bundle + "/rootfs";
  mkdir(target.c_str(), 0755);
  for (const auto& m : mounts) {
    std::string data;
    unsigned long flags = 0;
    for (const auto& o : m.options) {
      if (o == "ro") {
        flags |= MS_RDONLY;
      } else if (o == "bind" || o == "rbind") {
        flags |= MS_BIND | (o == "rbind" ? MS_REC : 0);
      } else {
        data += (data.empty() ? "" : ",") + o;
      }
    }
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0) {
      int err = errno;
      unmount_rootfs();
      return "cannot mount " + m.type + " " + m.source + " on " + target + ": " +
             std::strerror(err);
    }
    rootfs_mounted_ = true;
  }
  return std::nullopt;
}

void task::unmount_rootfs() {
  if (!rootfs_mounted_) return;
  const std::string target = cfg_.bundle + "/rootfs";
  while (umount2(target.c_str(), MNT_DETACH) == 0) {
  }
  rootfs_mounted_ = false;
}

std::string task::console_socket_path() const {
  std::string p = shim_socket_path(cfg_.state_dir);
  return p.substr(0, p.size() - 5) + "-console.sock";
}

// ---- lifetime --------------------------------------------------------------

pid_t task::init_pid() const { return init_ ? init_->pid : 0; }

bool task::has_live_process() const {
  auto live = [](const process& p) {
    status s = of(p.st);
    return p.pid > 0 && (s == status::running || s == status::paused || s == status::created);
  };
  if (init_ && live(*init_)) return true;
  for (auto& [id, p] : execs_) {
    if (live(*p)) return true;
  }
  return false;
}

maybe_failure task::shutdown(bool now) {
  if (has_live_process()) {
    if (!now) {
      return failure{ErrorCode::FAILED_PRECONDITION,
                     "cannot shut down the shim of task " + cfg_.id +
                         ": processes are still alive (kill and delete them, or use now)"};
    }
    if (init_ && init_->pid > 0) runc_.run_sync("delete", runc::runc_client::delete_args(cfg_.id, true));
  }
  unmount_rootfs();
  if (!shutting_down_) {
    shutting_down_ = true;
    shutdown_fulfiller_->fulfill();
  }
  return std::nullopt;
}

}  // namespace berth::shim
