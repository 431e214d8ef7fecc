// create and start: how a task and its exec processes come to run.
#include "shim/core/console_socket.hpp"
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
#include "shim/core/socket_address.hpp"

namespace berth::shim {
using namespace detail;

// ---- create / start ---------------------------------------------------------

kj::Promise<maybe_failure> task::create(stdio_paths stdio, std::vector<mount_spec> rootfs,
                                        std::string checkpoint, pid_t& pid_out, log_limits logs,
                                        bool start) {
  if (init_ || awaiting_release_) {
    return maybe_failure(failure{ErrorCode::ALREADY_EXISTS,
                                 "cannot create task " + cfg_.id + ": it was already created"});
  }
  if (!checkpoint.empty()) {
    return maybe_failure(failure{ErrorCode::UNAVAILABLE,
                                 "cannot create task " + cfg_.id +
                                     " from a checkpoint: CRIU cannot restore on this machine"});
  }
  KJ_IF_MAYBE (wait, host_.runtime.released(cfg_.id)) {
    awaiting_release_ = true;
    return wait->then([this, stdio = std::move(stdio), rootfs = std::move(rootfs), &pid_out, logs,
                       start]() mutable {
      awaiting_release_ = false;
      return create_released(std::move(stdio), std::move(rootfs), pid_out, logs, start);
    });
  }
  return create_released(std::move(stdio), std::move(rootfs), pid_out, logs, start);
}

kj::Promise<maybe_failure> task::create_released(stdio_paths stdio, std::vector<mount_spec> rootfs,
                                                 pid_t& pid_out, log_limits logs, bool start) {
  const std::string config_path = cfg_.bundle + "/config.json";
  struct stat st {};
  if (stat(cfg_.bundle.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return maybe_failure(failure{
        ErrorCode::INVALID_ARGUMENT,
        "cannot create task " + cfg_.id + ": bundle " + cfg_.bundle + " is not a directory"});
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
    return maybe_failure(
        failure{ErrorCode::INVALID_ARGUMENT,
                "cannot create task " + cfg_.id + ": " + config_path + " " + e.what()});
  }
  bool terminal = config["process"].value("terminal", false);
  if (terminal != stdio.terminal) {
    return maybe_failure(failure{
        ErrorCode::INVALID_ARGUMENT,
        "cannot create task " + cfg_.id +
            ": config.json has process.terminal=" + (terminal ? "true" : "false") +
            " but the request asks for " + (stdio.terminal ? "a terminal" : "no terminal")});
  }
  if (auto err = mount_rootfs(rootfs)) {
    return maybe_failure(
        failure{ErrorCode::INTERNAL, "cannot create task " + cfg_.id + ": " + *err});
  }

  auto p = std::make_unique<process>();
  p->stdio = stdio;
  try {
    if (!log_.is_open()) log_ = task_log(cfg_.bundle + "/task.log", logs);
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
  auto run = as_failure(
      start ? host_.runtime.run_detached(cfg_.id, cfg_.bundle, pid_file, console_path, rio)
            : host_.runtime.create(cfg_.id, cfg_.bundle, pid_file, console_path, rio));
  p->io->start_copying();
  init_ = std::move(p);  // reserve the slot: a second create is refused while this one runs
  // As in start: an exit that comes first waits for the start event.
  if (start) init_starting_ = true;
  return run.then([this, pid_file, console_fd, console_path, &pid_out, start](maybe_failure err) {
    if (start) init_starting_ = false;
    auto cleanup_console = [&] {
      if (console_fd >= 0) close(console_fd);
      if (!console_path.empty()) unlink(console_path.c_str());
    };
    if (!err) {
      std::string pid_text = read_file(pid_file);
      init_->pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
      if (init_->pid <= 0)
        err = failure{ErrorCode::INTERNAL, "runtime wrote no pid to " + pid_file};
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
        host_.runtime.remove_now(cfg_.id);
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
    if (start) {
      apply(*init_, of(init_->st), operation::start);
      events_.publish("/tasks/start", [this](wire::Event::Builder e) {
        e.initTaskStart().setPid(static_cast<uint32_t>(init_->pid));
      });
    }
    oom_ = std::make_unique<oom_watcher>(io_.unixEventPort, init_->pid, [this] {
      spdlog::warn("task {}: OOM killer acted in its cgroup", cfg_.id);
      events_.publish("/tasks/oom", [](wire::Event::Builder e) { e.setTaskOom(); });
    });
    if (auto it = unclaimed_exits_.find(init_->pid); it != unclaimed_exits_.end()) {
      int status = it->second;
      unclaimed_exits_.erase(it);
      handle_exit(*init_, status);
    }
    if (start) maybe_publish_init_exit();
    return err;
  });
}

kj::Promise<maybe_failure> task::start(std::string exec_id, pid_t& pid_out) {
  process* p = find(exec_id);
  if (!p) {
    return maybe_failure(missing(exec_id));
  }
  if (auto e = check(*p, operation::start)) return maybe_failure(e);
  if (p->kind == process_kind::init) {
    status before = of(p->st);
    // A process that exits at once is reaped before `runc start` returns; its
    // exit is held back until the start event is out (create -> start -> exit).
    init_starting_ = true;
    return as_failure(host_.runtime.start(cfg_.id))
        .then([this, before, &pid_out](maybe_failure err) {
          init_starting_ = false;
          if (!err) {
            apply(*init_, before, operation::start);
            pid_out = init_->pid;
            events_.publish("/tasks/start", [this](wire::Event::Builder e) {
              e.initTaskStart().setPid(static_cast<uint32_t>(init_->pid));
            });
          }
          maybe_publish_init_exit();
          return about(std::move(err), "start", cfg_.id);
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
    p->io =
        std::make_unique<process_io>(*io_.lowLevelProvider, io_.unixEventPort, p->stdio, nullptr);
  } catch (const std::exception& e) {
    return maybe_failure(
        failure{ErrorCode::INVALID_ARGUMENT,
                "cannot start exec " + exec_id + " of task " + cfg_.id + ": " + e.what()});
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
  auto run = as_failure(host_.runtime.exec(cfg_.id, spec_path, pid_file, console_path, rio));
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

}  // namespace berth::shim
