#include "shim/core/task.hpp"
#include "shim/core/task_internal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "schema/identifier.hpp"
#include "shim/core/cgroup_stats.hpp"
#include "shim/core/exec_process.hpp"
#include "shim/core/socket_address.hpp"

namespace berth::shim {
namespace {

// What `ps` shows as COMMAND: the argv from /proc, NULs turned into spaces.
// A process that exited meanwhile just has none.
std::string read_command_line(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

}  // namespace

std::string detail::criu_reason(const std::string& log_path) {
  std::ifstream f(log_path);
  std::vector<std::string> errors;
  for (std::string line; std::getline(f, line);) {
    auto at = line.find("Error (");
    if (at == std::string::npos) continue;
    auto colon = line.find("): ", at);
    std::string what = colon == std::string::npos ? line.substr(at) : line.substr(colon + 3);
    // "exited, status=1": a probe CRIU ran failed, which CRIU expects; not the reason.
    if (what.empty() || what.rfind("exited, status=", 0) == 0) continue;
    errors.push_back(what);
  }
  std::string out;
  for (size_t i = errors.size() > 3 ? errors.size() - 3 : 0; i < errors.size(); ++i) {
    out += (out.empty() ? "" : "; ") + errors[i];
  }
  return out;
}

using namespace detail;

void task::log_errors::taskFailed(kj::Exception&& e) {
  spdlog::error("background task failed: {}", e.getDescription().cStr());
}

task::task(kj::AsyncIoContext& io, task_config cfg, task_host host)
    : io_(io),
      cfg_(std::move(cfg)),
      host_(host),
      events_(cfg_.ns, cfg_.id),
      shutdown_promise_(nullptr),
      background_(log_errors_) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  shutdown_fulfiller_ = kj::mv(paf.fulfiller);
  shutdown_promise_ = paf.promise.fork();
}

task::~task() = default;

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

// The not-found answer for a process this task does not have: init before
// create, or an exec id never added (or already deleted).
failure task::missing(const std::string& exec_id) const {
  return {ErrorCode::NOT_FOUND, exec_id.empty()
                                    ? "task " + cfg_.id + " was not created"
                                    : "exec " + exec_id + " of task " + cfg_.id + " not found"};
}

// ---- queries ---------------------------------------------------------------

maybe_failure task::state(const std::string& exec_id, process_view& out) const {
  const process* p = find(exec_id);
  if (!p) {
    return missing(exec_id);
  }
  out.exec_id = p->exec_id;
  out.pid = p->pid;
  out.st = of(p->st);
  out.stdio = p->stdio;
  out.exit = p->exit;
  return std::nullopt;
}

kj::Promise<maybe_failure> task::pids(std::vector<process_entry>& out) {
  if (!init_) return maybe_failure(missing(""));
  if (auto e = check(*init_, operation::pids)) return maybe_failure(e);
  return host_.runtime.ps(cfg_.id).then([this, &out](runtime_output ps) -> maybe_failure {
    if (ps.error) return about(as_failure(std::move(ps.error)), "list the processes of", cfg_.id);
    try {
      for (int pid : runc::parse_ps_output(ps.text)) {
        process_entry entry{pid, {}, read_command_line(pid)};
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
  if (!init_) return missing("");
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
  return freeze(operation::pause);
}

kj::Promise<maybe_failure> task::resume() {
  return freeze(operation::resume);
}

// pause and resume differ only in the runtime verb and the event they publish.
kj::Promise<maybe_failure> task::freeze(operation op) {
  if (!init_) return maybe_failure(missing(""));
  if (auto e = check(*init_, op)) return maybe_failure(e);
  const bool pausing = op == operation::pause;
  status before = of(init_->st);
  return as_failure(pausing ? host_.runtime.pause(cfg_.id) : host_.runtime.resume(cfg_.id))
      .then([this, before, op, pausing](maybe_failure err) {
        if (err) return about(std::move(err), pausing ? "pause" : "resume", cfg_.id);
        apply(*init_, before, op);
        if (pausing) {
          events_.publish("/tasks/paused", [](wire::Event::Builder e) { e.setTaskPaused(); });
        } else {
          events_.publish("/tasks/resumed", [](wire::Event::Builder e) { e.setTaskResumed(); });
        }
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
    return maybe_failure(missing(exec_id));
  }
  if (auto e = check(*p, operation::kill)) return maybe_failure(e);
  if (p->kind == process_kind::exec) {
    if (p->pid <= 0) {
      return maybe_failure(
          failure{ErrorCode::FAILED_PRECONDITION,
                  "cannot kill exec " + exec_id + " of task " + cfg_.id + ": it was not started"});
    }
    if (int err = host_.signals.signal(p->pid, signal); err != 0) {
      // ESRCH: it exited and is not reaped yet; anything else is the kernel refusing.
      return maybe_failure(failure{
          err == ESRCH ? ErrorCode::NOT_FOUND : ErrorCode::INTERNAL,
          "cannot kill exec " + exec_id + " of task " + cfg_.id + ": " +
              (err == ESRCH ? std::string("process already finished") : std::strerror(err))});
    }
    return maybe_failure();
  }
  return as_failure(host_.runtime.kill(cfg_.id, signal, all))
      .then([this](maybe_failure err) -> maybe_failure {
        // The process may have exited while runc ran; say so the way a user expects.
        if (err && init_ && of(init_->st) == status::stopped) {
          return failure{ErrorCode::NOT_FOUND,
                         "cannot kill task " + cfg_.id + ": process already finished"};
        }
        return about(std::move(err), "kill", cfg_.id);
      });
}

kj::Promise<maybe_failure> task::update(std::string resources_json) {
  if (!init_) return maybe_failure(missing(""));
  if (auto e = check(*init_, operation::update)) return maybe_failure(e);
  const std::string path = cfg_.bundle + "/resources.json";
  if (!write_file(path, resources_json)) {
    return maybe_failure(failure{ErrorCode::INTERNAL, "cannot write " + path});
  }
  return as_failure(host_.runtime.update(cfg_.id, path)).then([this, path](maybe_failure err) {
    unlink(path.c_str());
    return about(std::move(err), "update", cfg_.id);
  });
}

kj::Promise<maybe_failure> task::checkpoint(std::string path, bool exit) {
  if (!init_) return maybe_failure(missing(""));
  if (auto e = check(*init_, operation::checkpoint)) return maybe_failure(e);
  if (path.empty() || path.front() != '/') {
    return maybe_failure(failure{ErrorCode::INVALID_ARGUMENT,
                                 "invalid checkpoint path \"" + path + "\": must be absolute"});
  }
  mkdir(path.c_str(), 0700);
  status before = of(init_->st);
  return as_failure(host_.runtime.checkpoint(cfg_.id, path, !exit, path + ".work"))
      .then([this, before, path](maybe_failure err) -> maybe_failure {
        if (err) {
          // CRIU failing is the machine's limit, not a bug: say why in CRIU's
          // words (runc itself only says "criu failed" and where the log is).
          err->code = ErrorCode::UNAVAILABLE;
          err->message = "cannot checkpoint task " + cfg_.id + ": " + err->message;
          std::string criu = criu_reason(path + ".work/dump.log");
          if (!criu.empty()) err->message += "; CRIU says: " + criu;
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
  if (!init_) return missing("");
  if (auto e = check(*init_, operation::exec)) return e;
  if (execs_.count(exec_id)) {
    return failure{ErrorCode::ALREADY_EXISTS,
                   "exec " + exec_id + " of task " + cfg_.id + " already exists"};
  }
  // The exec inherits what the container's own process has (capabilities,
  // rlimits, apparmor...) and overrides only what a client may set
  // (exec_process.hpp).
  nlohmann::json proc;
  try {
    std::ifstream f(cfg_.bundle + "/config.json");
    proc =
        exec_process(nlohmann::json::parse(f).at("process"), nlohmann::json::parse(process_json));
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
    return maybe_failure(missing(exec_id));
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
    return maybe_failure(missing(exec_id));
  }
  if (auto e = check(*p, operation::delete_)) return maybe_failure(e);
  if (p->kind == process_kind::exec) {
    pid_out = p->pid;
    if (p->exit) out = *p->exit;
    execs_.erase(exec_id);
    return maybe_failure();
  }
  status before = of(p->st);
  if (before == status::stopped) {
    // Nothing of the container runs any more: its exit is known and its
    // rootfs can go now. What the runtime still holds (its state directory,
    // the cgroup) goes in the background, off the caller's path: a `runc
    // delete` is a whole Go process. The shim lives until it is done, and a
    // new task with this id waits for it (oci_runtime::released).
    release_in_background();
    finish_remove(before, pid_out, out);
    return maybe_failure();
  }
  // Never-started init still sits in `runc init`: only --force removes it.
  return as_failure(host_.runtime.remove(cfg_.id, true))
      .then([this, before, &pid_out, &out](maybe_failure err) {
        if (err) return about(std::move(err), "delete", cfg_.id);
        finish_remove(before, pid_out, out);
        return err;
      });
}

void task::finish_remove(status before, pid_t& pid_out, exit_record& out) {
  apply(*init_, before, operation::delete_);
  if (!init_->exit) init_->exit = exit_record{137, SIGKILL, now_ns(), "deleted before it ran"};
  pid_out = init_->pid;
  out = *init_->exit;
  unmount_rootfs();
  unlink((cfg_.bundle + "/init.pid").c_str());
  // Exits go out before the delete even when their output has not
  // drained yet, or (deleted before it ran) the reaper has not seen it.
  for (auto& [id, exec] : execs_) {
    if (exec->exit) publish_exit(*exec);
  }
  publish_exit(*init_);
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
}

// A failed delete of a stopped container is retried with --force; a failure
// of that too is logged (the shim is being deleted: there is no caller left
// to tell), and a later create of the id reports the clash.
void task::release_in_background() {
  released_ = host_.runtime.remove(cfg_.id, false)
                  .then([this](runtime_error err) -> kj::Promise<void> {
                    if (!err) return kj::READY_NOW;
                    spdlog::warn("task {}: {}; deleting it with --force", cfg_.id, *err);
                    return host_.runtime.remove(cfg_.id, true).then([this](runtime_error err) {
                      if (err) spdlog::error("task {}: {}", cfg_.id, *err);
                    });
                  })
                  .fork();
}

kj::Promise<void> task::when_released() {
  KJ_IF_MAYBE (pending, released_) return pending->addBranch();
  return kj::READY_NOW;
}

maybe_failure task::close_io(const std::string& exec_id) {
  process* p = find(exec_id);
  if (!p)
    return failure{ErrorCode::NOT_FOUND,
                   "process " + exec_id + " of task " + cfg_.id + " not found"};
  if (auto e = check(*p, operation::close_io)) return e;
  if (p->io) p->io->close_stdin();
  return std::nullopt;
}

maybe_failure task::attach(const std::string& exec_id, const stdio_paths& to, bool& stdin_open) {
  process* p = find(exec_id);
  if (!p)
    return failure{ErrorCode::NOT_FOUND,
                   "process " + exec_id + " of task " + cfg_.id + " not found"};
  if (auto e = check(*p, operation::attach)) return e;
  if (!p->io) {
    return failure{ErrorCode::FAILED_PRECONDITION,
                   "cannot attach to task " + cfg_.id + ": its process has no I/O"};
  }
  try {
    stdin_open = p->io->attach(to);
  } catch (const std::exception& e) {
    return failure{ErrorCode::INVALID_ARGUMENT,
                   "cannot attach to task " + cfg_.id + ": " + e.what()};
  }
  return std::nullopt;
}

maybe_failure task::resize_pty(const std::string& exec_id, unsigned width, unsigned height) {
  process* p = find(exec_id);
  if (!p)
    return failure{ErrorCode::NOT_FOUND,
                   "process " + exec_id + " of task " + cfg_.id + " not found"};
  if (auto e = check(*p, operation::resize_pty)) return e;
  if (!p->io || !p->io->resize(width, height)) {
    return failure{ErrorCode::FAILED_PRECONDITION,
                   "cannot resize the terminal of task " + cfg_.id + ": it has no terminal"};
  }
  return std::nullopt;
}

// ---- lifetime --------------------------------------------------------------

pid_t task::init_pid() const {
  return init_ ? init_->pid : 0;
}

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
    if (init_ && init_->pid > 0) host_.runtime.remove_now(cfg_.id);
  }
  unmount_rootfs();
  if (!shutting_down_) {
    shutting_down_ = true;
    shutdown_fulfiller_->fulfill();
  }
  return std::nullopt;
}

}  // namespace berth::shim
