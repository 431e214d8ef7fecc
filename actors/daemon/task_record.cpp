// What a task knows and tells: its record (stored through the store
// actor), the init exit (stored before it is published or answered), and the
// shim's events turned into berth events. See task_data.hpp for the files of
// the task actor.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "actors/daemon/task_data.hpp"
#include "actors/errors.hpp"

namespace berth::task_detail {

std::string who(task_self self) {
  return "task " + self->state.params.ns + "/" + self->state.params.id;
}

bool is_live(task_phase p) {
  return p == task_phase::created || p == task_phase::running || p == task_phase::paused ||
         p == task_phase::created_checkpoint;
}

task_info info_of(task_self self) {
  auto& st = self->state;
  auto& r = st.record;
  task_info i;
  i.ns = r.ns;
  i.id = r.id;
  i.pid = static_cast<std::uint32_t>(r.pid);
  i.status = status_of(st.phase, r.status);
  if (i.status == task_status::stopped) {
    i.exit.code = r.exit_code;
    i.exit.signal = r.exit_signal;
    i.exit.exited_at = r.exited_at;
    i.exit.reason = r.exit_reason;
  } else if (i.status == task_status::unknown) {
    // Why berth, not the process, decided the status (the wire's ExitStatus.reason).
    i.exit.reason = silence(self);
  }
  return i;
}

task_status from_shim(shim_status s) {
  switch (s) {
    case shim_status::created:
      return task_status::created;
    case shim_status::running:
      return task_status::running;
    case shim_status::paused:
      return task_status::paused;
    case shim_status::created_checkpoint:
      return task_status::created_checkpoint;
    case shim_status::stopped:
    case shim_status::deleted:
      return task_status::stopped;
    case shim_status::unknown:
      break;
  }
  return task_status::unknown;
}

// Status writes nobody waits for: a restart asks the shim anyway.
void persist(task_self self) {
  self->request(self->state.ctx.store, caf::infinite, put_task_atom::value, self->state.record)
      .then([](const task_record&) {},
            [self](caf::error& err) {
              spdlog::error("{}: cannot store its state: {}", who(self), error_message(err));
            });
}

void publish(task_self self, berth_event e) {
  e.ns = self->state.params.ns;
  e.id = self->state.params.id;
  if (e.time == caf::timestamp{}) e.time = caf::make_timestamp();
  self->send(self->state.ctx.events, publish_atom::value, std::move(e));
}

// A live status the shim confirmed: recorded (stored when it changed) and
// entered.
void settle(task_self self, task_status status) {
  auto& st = self->state;
  if (status != st.record.status) {
    st.record.status = status;
    persist(self);
  }
  st.phase = phase_of(status);
}

// ---- the init exit ---------------------------------------------------------------

// The init process exited (an event, the shim's state after a restart, or
// the cleanup of a dead shim). Stored, then published and answered, once.
void on_init_exit(task_self self, exit_status status, std::uint32_t pid) {
  auto& st = self->state;
  if (st.phase == task_phase::exiting || st.phase == task_phase::stopped ||
      st.phase == task_phase::deleting)
    return;  // known already: a repeat, or stored before a restart
  bool already_stored = st.record.status == task_status::stopped;
  st.record.status = task_status::stopped;
  if (!already_stored) {
    st.record.exit_code = status.code;
    st.record.exit_signal = status.signal;
    st.record.exited_at = status.exited_at;
    st.record.exit_reason = status.reason;
  }
  auto stored = [self, status, pid, already_stored] {
    auto& st = self->state;
    if (st.phase == task_phase::exiting) st.phase = task_phase::stopped;
    if (!already_stored) {
      spdlog::info("{} exited with status {}{}{}", who(self), status.code,
                   status.reason.empty() ? "" : ": ", status.reason);
      berth_event e;
      e.kind = event_kind::task_exit;
      e.pid = pid ? pid : static_cast<std::uint32_t>(st.record.pid);
      e.status = status;
      e.time = status.exited_at;
      publish(self, std::move(e));
    }
    auto exit = info_of(self).exit;
    for (auto& w : st.init_waiters) w.deliver(exit);
    st.init_waiters.clear();
  };
  st.phase = task_phase::exiting;
  if (already_stored) {
    stored();
    return;
  }
  task_exit te{status.code, status.signal, status.exited_at, status.reason};
  self->request(st.ctx.store, caf::infinite, task_exit_atom::value, st.params.ns, st.params.id, te)
      .then([stored](const task_record&) { stored(); },
            [self, stored](caf::error& err) {
              spdlog::error("{}: cannot store its exit: {}", who(self), error_message(err));
              stored();
            });
}

void on_shim_event(task_self self, shim_event& ev) {
  auto& st = self->state;
  if (ev.sequence != 0 && ev.sequence <= st.last_event) return;  // re-sent after a reconnect
  st.last_event = std::max(st.last_event, ev.sequence);
  st.record.last_acked_event = st.last_event;
  berth_event e;
  e.time = ev.time;
  e.pid = ev.pid;
  e.exec_id = ev.exec_id;
  switch (ev.kind) {
    case shim_event_kind::task_exit:
      if (ev.exec_id.empty()) {
        on_init_exit(self, ev.status, ev.pid);
        return;
      }
      if (auto it = st.execs.find(ev.exec_id); it != st.execs.end()) {
        it->second.status = task_status::stopped;
        it->second.exit = ev.status;
      }
      e.kind = event_kind::task_exit;
      e.status = ev.status;
      break;
    case shim_event_kind::task_create:
      e.kind = event_kind::task_create;
      e.bundle = ev.bundle;
      break;
    case shim_event_kind::task_start:
      e.kind = event_kind::task_start;
      break;
    case shim_event_kind::task_oom:
      e.kind = event_kind::task_oom;
      break;
    case shim_event_kind::task_paused:
      e.kind = event_kind::task_paused;
      break;
    case shim_event_kind::task_resumed:
      e.kind = event_kind::task_resumed;
      break;
    case shim_event_kind::task_exec_added:
      e.kind = event_kind::task_exec_added;
      break;
    case shim_event_kind::task_exec_started:
      e.kind = event_kind::task_exec_started;
      if (auto it = st.execs.find(ev.exec_id); it != st.execs.end()) {
        it->second.pid = ev.pid;
        it->second.status = task_status::running;
      }
      break;
    case shim_event_kind::task_delete:  // berthd publishes its own when the task is gone
    case shim_event_kind::other:
      return;
  }
  publish(self, std::move(e));
}

}  // namespace berth::task_detail
