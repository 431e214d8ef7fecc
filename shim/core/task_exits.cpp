// Exits (reaped by the reaper, published in order) and the rootfs mounts.
#include "shim/core/reaper.hpp"
#include "shim/core/task.hpp"
#include "shim/core/task_internal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
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

// ---- exits -----------------------------------------------------------------

void task::reaped(pid_t pid, int status) {
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
  // A failure while copying output must not lose the exit: it is published anyway.
  kj::Promise<void> drained = kj::READY_NOW;
  if (p.io) {
    drained = p.io->drained().catch_([this](kj::Exception&& e) {
      spdlog::warn("task {}: output copy failed: {}", cfg_.id, e.getDescription().cStr());
    });
  }
  std::string exec_id = p.exec_id;
  background_.add(drained.exclusiveJoin(io_.provider->getTimer().afterDelay(kDrainTimeout))
                      .then([this, exec_id]() {
                        process* q = find(exec_id);
                        if (!q || !q->exit) return;
                        q->exit_drained = true;
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
  // Only once init's own output drained, and never before its start event.
  if (!init_ || !init_->exit || init_->exit_published || !init_->exit_drained) return;
  if (init_starting_) return;
  for (auto& [id, p] : execs_) {
    if (p->pid > 0 && !p->exit_published) return;
  }
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
    if (int err = host_.mounts.mount(m.source, target, m.type, flags, data); err != 0) {
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
  // Every layer mounted there, the topmost first, until nothing is left.
  while (host_.mounts.unmount(target) == 0) {
  }
  rootfs_mounted_ = false;
}

std::string task::console_socket_path() const {
  std::string p = shim_socket_path(cfg_.state_dir);
  return p.substr(0, p.size() - 5) + "-console.sock";
}

}  // namespace berth::shim
