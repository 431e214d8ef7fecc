#include "actors/daemon/task_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include "actors/daemon/bundle.hpp"
#include "actors/daemon/shim_presence.hpp"
#include "actors/daemon/task_states.hpp"
#include "actors/errors.hpp"

namespace berth {
namespace {

// Ask the shim (again): at recovery, and while the task is unknown.
using reach_atom = caf::atom_constant<caf::atom("reachShim")>;

// A shim that did not answer is asked again after 0.5 s, then 1, 2, 4, 8
// and every 10 s: soon enough to notice a shim that was only stopped for a
// moment, rare enough that a stuck one costs nothing.
constexpr std::chrono::milliseconds first_retry{500};
constexpr std::chrono::milliseconds last_retry{10000};

struct exec_process {
  std::uint32_t pid = 0;
  task_status status = task_status::created;
  exit_status exit;
};

struct task_data {
  task_context ctx;
  task_params params;
  task_record record;
  shim_proxy_actor proxy;
  task_phase phase = task_phase::creating;
  // While unknown: attempts to reach the shim since it last answered, the
  // shim's pid (from shim.pid) and the delay before the next attempt.
  std::uint32_t attempts = 0;
  std::int32_t shim_pid = 0;
  std::chrono::milliseconds retry{0};
  std::uint64_t last_event = 0;  // highest shim event sequence handled
  std::map<std::string, exec_process> execs;
  std::vector<caf::response_promise> init_waiters;  // wait() before the exit is stored

  static inline const char* name = "berth.task";
};

// The public interface plus the retry timer's message.
using task_impl = task_actor::extend<caf::reacts_to<reach_atom>>;
using task_self = task_impl::stateful_pointer<task_data>;

std::string who(task_self self) {
  return "task " + self->state.params.ns + "/" + self->state.params.id;
}

bool is_live(task_phase p) {
  return p == task_phase::created || p == task_phase::running || p == task_phase::paused ||
         p == task_phase::created_checkpoint;
}

std::string silence(task_self self) {
  auto& st = self->state;
  return "its shim does not answer (pid " + std::to_string(st.shim_pid) + ", " +
         std::to_string(st.attempts) + (st.attempts == 1 ? " attempt" : " attempts") +
         "); retrying";
}

caf::error refuse(task_self self, const std::string& op, const std::string& extra = "") {
  return make_error(errc::failed_precondition, "cannot " + op + " " + who(self) + ": it is " +
                                                   phase_name(self->state.phase) + extra);
}

// The answer task_states gives for `op` now: nothing when the actor may go
// ahead, else the refusal, the unavailable error or a skip (stay in the
// mailbox until the phase changes).
template <class T>
std::optional<caf::result<T>> gate(task_self self, task_op op, std::string phrase = "") {
  if (phrase.empty()) phrase = op_phrase(op);
  switch (decide(self->state.phase, op)) {
    case task_verdict::accept:
      return std::nullopt;
    case task_verdict::refuse:
      return caf::result<T>{refuse(self, phrase)};
    case task_verdict::unavailable:
      return caf::result<T>{make_error(
          errc::unavailable, "cannot " + phrase + " " + who(self) + ": " + silence(self))};
    case task_verdict::defer:
      return caf::result<T>{caf::skip};
  }
  return caf::result<T>{refuse(self, phrase)};
}

// What a request asks for, for a refusal while the task is being created.
std::optional<task_op> operation_of(const caf::type_erased_tuple& x) {
  if (x.match_elements<task_start>())
    return x.get_as<task_start>(0).exec_id.empty() ? task_op::start : task_op::start_exec;
  if (x.match_elements<task_pids>()) return task_op::pids;
  if (x.match_elements<task_pause>()) return task_op::pause;
  if (x.match_elements<task_resume>()) return task_op::resume;
  if (x.match_elements<task_kill>()) return task_op::kill;
  if (x.match_elements<task_exec>()) return task_op::exec;
  if (x.match_elements<task_delete>()) return task_op::delete_task;
  if (x.match_elements<task_wait>()) return task_op::wait;
  if (x.match_elements<task_state>()) return task_op::exec_state;
  if (x.match_elements<task_close_io>()) return task_op::close_io;
  if (x.match_elements<task_attach>()) return task_op::attach;
  if (x.match_elements<task_resize_pty>()) return task_op::resize_pty;
  if (x.match_elements<task_update>()) return task_op::update;
  if (x.match_elements<task_metrics>()) return task_op::metrics;
  if (x.match_elements<task_checkpoint>()) return task_op::checkpoint;
  return std::nullopt;
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

// ---- reaching the shim -----------------------------------------------------------

// The shim is gone for good: berth-shim delete collects what it recorded.
void bury_shim(task_self self, const std::string& why) {
  auto& st = self->state;
  if (st.proxy) self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
  st.proxy = nullptr;
  st.phase = task_phase::burying;
  spdlog::warn("{}: its shim is gone ({}); cleaning up", who(self), why);
  self->request(st.ctx.runtime, caf::infinite, cleanup_shim_atom::value, st.params.ns, st.params.id,
                st.params.bundle, st.params.bundle)
      .then(
          [self, why](exit_status& es) {
            if (!es.reason.empty()) es.reason = "shim died (" + why + "): " + es.reason;
            on_init_exit(self, es, 0);
          },
          [self, why](caf::error& err) {
            exit_status es;
            es.code = 255;
            es.exited_at = caf::make_timestamp();
            es.reason = "shim died: " + why + "; its cleanup failed: " + error_message(err);
            on_init_exit(self, es, 0);
          });
}

// The shim did not answer (a deadline, a lost connection, a refused
// connect). Gone: buried. Alive: the task is unknown and the shim is asked
// again later; its container keeps running whatever berthd thinks.
void unreachable(task_self self, const caf::error& err) {
  auto& st = self->state;
  bool exited = st.phase == task_phase::exiting || st.phase == task_phase::stopped;
  if (!is_live(st.phase) && st.phase != task_phase::recovering && st.phase != task_phase::unknown &&
      !exited)
    return;  // being deleted or buried: nothing to decide
  auto presence = probe_shim(st.params.bundle, st.record.shim_address);
  if (presence.gone) {
    bury_shim(self, presence.why + "; " + error_message(err));
    return;
  }
  // A stopped task's slow shim is asked again by its delete; its state is known.
  if (exited) return;
  st.shim_pid = presence.pid;
  ++st.attempts;
  st.retry = st.retry.count() == 0 ? first_retry : std::min(st.retry * 2, last_retry);
  if (st.phase != task_phase::unknown)
    spdlog::warn("{} is unknown: its shim (pid {}) does not answer: {}; asking again", who(self),
                 st.shim_pid, error_message(err));
  st.phase = task_phase::unknown;
  self->delayed_send(self, st.retry, reach_atom::value);
}

// Errors from any call to the shim: a missed deadline means it is slow.
void noticed(task_self self, const caf::error& err) {
  if (error_code(err) == errc::deadline_exceeded && is_live(self->state.phase))
    unreachable(self, err);
}

void subscribe(task_self self) {
  self->request(self->state.proxy, caf::infinite, shim_subscribe{self->state.last_event})
      .then([] {},
            [self](caf::error& err) {
              spdlog::warn("{}: cannot subscribe to its shim's events: {}", who(self),
                           error_message(err));
            });
}

// The shim answered its state through a fresh proxy: the task is what the
// shim says, with no restart of anything.
void reached(task_self self, shim_proxy_actor proxy, const process_state& ps) {
  auto& st = self->state;
  if (st.proxy && st.proxy != proxy) self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
  st.proxy = std::move(proxy);
  if (st.phase == task_phase::unknown)
    spdlog::info("{}: its shim answers again after {} attempts", who(self), st.attempts);
  st.attempts = 0;
  st.retry = std::chrono::milliseconds{0};
  subscribe(self);
  if (st.phase != task_phase::recovering && st.phase != task_phase::unknown && !is_live(st.phase))
    return;  // the exit came meanwhile (an event on the old connection)
  auto status = from_shim(ps.status);
  if (ps.pid) st.record.pid = static_cast<std::int32_t>(ps.pid);
  if (status == task_status::unknown) status = st.record.status;
  if (status == task_status::stopped) {
    on_init_exit(self, ps.exit, ps.pid);
    return;
  }
  settle(self, status);
}

void reach_shim(task_self self) {
  auto& st = self->state;
  auto sink = caf::actor_cast<shim_event_sink>(self);
  self->request(st.ctx.runtime, caf::infinite, connect_shim_atom::value, st.params.ns, st.params.id,
                st.record.shim_address, sink)
      .then(
          [self](shim_proxy_actor& proxy) {
            self->request(proxy, caf::infinite, shim_state{})
                .then([self, proxy](process_state& ps) { reached(self, proxy, ps); },
                      [self, proxy](caf::error& err) {
                        self->send_exit(proxy, caf::exit_reason::user_shutdown);
                        unreachable(self, err);
                      });
          },
          [self](caf::error& err) { unreachable(self, err); });
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

void on_shim_lost(task_self self, shim_lost& lost) {
  auto& st = self->state;
  if (!is_live(st.phase) && st.phase != task_phase::exiting && st.phase != task_phase::stopped)
    return;  // deleting (the shim exits), or already reaching it
  if (!st.proxy) return;
  spdlog::warn("{}: lost its shim ({}); reconnecting", who(self), lost.reason);
  // A stopped task's shim is still needed for its delete; a gone one is
  // buried there too, with the exit already stored.
  reach_shim(self);
}

// ---- operations forwarded to the shim ------------------------------------------

template <class Reply, class Msg>
caf::result<Reply> forward(task_self self, Msg x) {
  if (!self->state.proxy) return make_error(errc::unavailable, who(self) + " has no shim to ask");
  auto fail = [self](auto rp) {
    return [self, rp](caf::error& err) mutable {
      noticed(self, err);
      rp.deliver(std::move(err));
    };
  };
  if constexpr (std::is_void_v<Reply>) {
    auto rp = self->make_response_promise();
    self->request(self->state.proxy, caf::infinite, std::move(x))
        .then([rp]() mutable { rp.deliver(caf::message{}); }, fail(rp));
    return rp;
  } else {
    auto rp = self->make_response_promise<Reply>();
    self->request(self->state.proxy, caf::infinite, std::move(x))
        .then([rp](Reply& r) mutable { rp.deliver(std::move(r)); }, fail(rp));
    return rp;
  }
}

caf::result<std::uint32_t> start_init(task_self self) {
  auto rp = self->make_response_promise<std::uint32_t>();
  self->request(self->state.proxy, caf::infinite, shim_start{})
      .then(
          [self, rp](std::uint32_t pid) mutable {
            auto& st = self->state;
            // Unless the init exit came first (a process that ends at once).
            if (st.phase == task_phase::created || st.phase == task_phase::created_checkpoint) {
              st.record.pid = static_cast<std::int32_t>(pid);
              settle(self, task_status::running);
            }
            rp.deliver(pid);
          },
          [self, rp](caf::error& err) mutable {
            noticed(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

caf::result<std::uint32_t> start_exec(task_self self, task_start& x) {
  auto rp = self->make_response_promise<std::uint32_t>();
  auto exec_id = x.exec_id;
  self->request(self->state.proxy, caf::infinite, std::move(x))
      .then(
          [self, rp, exec_id](std::uint32_t pid) mutable {
            auto& e = self->state.execs[exec_id];
            e.pid = pid;
            if (e.status == task_status::created) e.status = task_status::running;
            rp.deliver(pid);
          },
          [self, rp](caf::error& err) mutable {
            noticed(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

caf::result<void> add_exec(task_self self, task_exec& x) {
  auto rp = self->make_response_promise();
  auto exec_id = x.exec_id;
  self->request(self->state.proxy, caf::infinite, std::move(x))
      .then(
          [self, rp, exec_id]() mutable {
            self->state.execs[exec_id] = exec_process{};
            rp.deliver(caf::message{});
          },
          [self, rp](caf::error& err) mutable {
            noticed(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

// Pause and resume change the state once the shim confirms.
template <class Msg>
caf::result<void> freeze(task_self self, Msg x, task_status next) {
  auto rp = self->make_response_promise();
  self->request(self->state.proxy, caf::infinite, x)
      .then(
          [self, rp, next]() mutable {
            if (is_live(self->state.phase)) settle(self, next);
            rp.deliver(caf::message{});
          },
          [self, rp](caf::error& err) mutable {
            noticed(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

// ---- delete ------------------------------------------------------------------

// `prior`: the phase to return to if the delete fails.
void finish_delete(task_self self, caf::response_promise rp, deleted_process dp, task_phase prior) {
  auto& st = self->state;
  self->request(st.ctx.store, caf::infinite, del_task_atom::value, st.params.ns, st.params.id)
      .then(
          [self, rp, dp](const task_record&) mutable {
            auto& st = self->state;
            if (st.proxy) self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
            if (auto err = remove_bundle(st.params.bundle); !err.empty())
              spdlog::warn("{}: {}", who(self), err);
            berth_event e;
            e.kind = event_kind::task_delete;
            e.pid = dp.pid;
            e.status = dp.status;
            publish(self, std::move(e));
            rp.deliver(dp);
            self->quit();
          },
          [self, rp, prior](caf::error& err) mutable {
            self->state.phase = prior;
            rp.deliver(std::move(err));
          });
}

// Deletes a created or stopped task: the shim deletes the container, exits,
// and the record goes.
void do_delete(task_self self, caf::response_promise rp) {
  auto& st = self->state;
  auto prior = st.phase;
  st.phase = task_phase::deleting;
  if (!st.proxy) {
    deleted_process dp{static_cast<std::uint32_t>(st.record.pid), info_of(self).exit};
    finish_delete(self, rp, dp, prior);
    return;
  }
  auto shut_down = [self, rp, prior](deleted_process dp) mutable {
    self->request(self->state.proxy, caf::infinite, shim_shutdown{false})
        .then([self, rp, dp, prior] { finish_delete(self, rp, dp, prior); },
              [self, rp, dp, prior](caf::error&) { finish_delete(self, rp, dp, prior); });
  };
  self->request(st.proxy, caf::infinite, shim_delete{})
      .then([shut_down](deleted_process& dp) mutable { shut_down(dp); },
            [self, rp, prior, shut_down](caf::error& err) mutable {
              if (err.category() == error_category && error_code(err) == errc::not_found) {
                // The shim had deleted the container already: berthd stopped
                // (or was killed) between the shim's delete and its own.
                // Finish berthd's part.
                spdlog::info("{}: its shim had deleted the container; finishing the delete",
                             who(self));
                auto& st = self->state;
                shut_down(
                    deleted_process{static_cast<std::uint32_t>(st.record.pid), info_of(self).exit});
                return;
              }
              self->state.phase = prior;
              noticed(self, err);
              rp.deliver(std::move(err));
            });
}

caf::result<deleted_process> delete_exec(task_self self, const std::string& exec_id) {
  auto& st = self->state;
  if (!st.proxy)
    return make_error(errc::not_found, "exec " + exec_id + " of " + who(self) + " not found");
  auto rp = self->make_response_promise<deleted_process>();
  self->request(st.proxy, caf::infinite, shim_delete{exec_id})
      .then(
          [self, rp, exec_id](deleted_process& dp) mutable {
            self->state.execs.erase(exec_id);
            rp.deliver(std::move(dp));
          },
          [self, rp](caf::error& err) mutable {
            noticed(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

// Running or paused: only with force — kill everything, wait for the exit,
// then delete.
void wait_then_delete(task_self self, caf::response_promise rp) {
  self->request(caf::actor_cast<caf::actor>(self), std::chrono::seconds(30), task_wait{})
      .then(
          [self, rp](const exit_status&) mutable {
            // The exit is stored (wait answers only then): stopped.
            do_delete(self, rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

caf::result<deleted_process> delete_live(task_self self, task_delete& x) {
  if (!x.force) return refuse(self, "delete", "; kill it first, or delete with force");
  auto rp = self->make_response_promise<deleted_process>();
  self->request(self->state.proxy, caf::infinite, shim_kill{"", 9, true})
      .then([self, rp]() mutable { wait_then_delete(self, rp); },
            [self, rp](caf::error& err) mutable {
              // It exited on its own meanwhile: its exit is on the way.
              if (error_code(err) == errc::not_found) {
                wait_then_delete(self, rp);
                return;
              }
              noticed(self, err);
              rp.deliver(std::move(err));
            });
  return rp;
}

// ---- serving: every phase after creating -------------------------------------------

// One behavior for every settled phase: each handler asks task_states first,
// so which operation is legal where is decided in one table.
task_impl::behavior_type serving(task_self self) {
  return {
      [self](task_info_atom) { return info_of(self); },
      [self](create_atom) -> caf::result<std::uint32_t> { return refuse(self, "create"); },
      [self](task_start& x) -> caf::result<std::uint32_t> {
        if (x.exec_id.empty()) {
          if (auto g = gate<std::uint32_t>(self, task_op::start)) return std::move(*g);
          return start_init(self);
        }
        if (auto g =
                gate<std::uint32_t>(self, task_op::start_exec, "start exec " + x.exec_id + " of"))
          return std::move(*g);
        return start_exec(self, x);
      },
      [self](task_pause x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::pause)) return std::move(*g);
        return freeze(self, x, task_status::paused);
      },
      [self](task_resume x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::resume)) return std::move(*g);
        return freeze(self, x, task_status::running);
      },
      [self](task_exec& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::exec)) return std::move(*g);
        return add_exec(self, x);
      },
      [self](task_kill& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::kill)) return std::move(*g);
        return forward<void>(self, std::move(x));
      },
      [self](task_pids& x) -> caf::result<std::vector<process_info>> {
        if (auto g = gate<std::vector<process_info>>(self, task_op::pids)) return std::move(*g);
        // Nothing runs any more; asking the shim would only add a way to hang.
        auto p = self->state.phase;
        if (p == task_phase::exiting || p == task_phase::stopped)
          return std::vector<process_info>{};
        return forward<std::vector<process_info>>(self, x);
      },
      [self](task_metrics& x) -> caf::result<task_stats> {
        if (auto g = gate<task_stats>(self, task_op::metrics)) return std::move(*g);
        return forward<task_stats>(self, x);
      },
      [self](task_update& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::update)) return std::move(*g);
        return forward<void>(self, std::move(x));
      },
      [self](task_close_io& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::close_io)) return std::move(*g);
        return forward<void>(self, std::move(x));
      },
      [self](task_attach& x) -> caf::result<bool> {
        if (auto g = gate<bool>(self, task_op::attach)) return std::move(*g);
        return forward<bool>(self, std::move(x));
      },
      [self](task_resize_pty& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::resize_pty)) return std::move(*g);
        return forward<void>(self, std::move(x));
      },
      [self](task_checkpoint& x) -> caf::result<void> {
        if (auto g = gate<void>(self, task_op::checkpoint)) return std::move(*g);
        return forward<void>(self, std::move(x));
      },
      [self](task_delete& x) -> caf::result<deleted_process> {
        if (!x.exec_id.empty()) {
          if (auto g = gate<deleted_process>(self, task_op::delete_exec)) return std::move(*g);
          return delete_exec(self, x.exec_id);
        }
        if (auto g = gate<deleted_process>(self, task_op::delete_task)) return std::move(*g);
        if (delete_needs_force(self->state.phase)) return delete_live(self, x);
        auto rp = self->make_response_promise<deleted_process>();
        do_delete(self, rp);
        return rp;
      },
      [self](task_wait& x) -> caf::result<exit_status> {
        auto& st = self->state;
        if (x.exec_id.empty()) {
          if (auto g = gate<exit_status>(self, task_op::wait)) return std::move(*g);
          if (st.phase == task_phase::stopped) return info_of(self).exit;
          auto rp = self->make_response_promise<exit_status>();
          st.init_waiters.push_back(rp);
          return rp;
        }
        if (auto g = gate<exit_status>(self, task_op::wait_exec)) return std::move(*g);
        if (!st.proxy)
          return make_error(errc::not_found,
                            "exec " + x.exec_id + " of " + who(self) + " not found");
        return self->delegate(st.proxy, std::move(x));
      },
      [self](task_state& x) -> caf::result<task_info> {
        auto& st = self->state;
        if (x.exec_id.empty()) return info_of(self);
        if (auto g = gate<task_info>(self, task_op::exec_state)) return std::move(*g);
        auto it = st.execs.find(x.exec_id);
        if (it != st.execs.end()) {
          task_info i{st.params.ns,   st.params.id,      x.exec_id,
                      it->second.pid, it->second.status, it->second.exit};
          return i;
        }
        if (st.phase == task_phase::unknown)
          return make_error(errc::unavailable, "cannot read exec " + x.exec_id + " of " +
                                                   who(self) + ": " + silence(self));
        if (!st.proxy)
          return make_error(errc::not_found,
                            "exec " + x.exec_id + " of " + who(self) + " not found");
        // An exec started before berthd restarted: only the shim knows it.
        auto rp = self->make_response_promise<task_info>();
        self->request(st.proxy, caf::infinite, x)
            .then(
                [self, rp](process_state& ps) mutable {
                  rp.deliver(task_info{self->state.params.ns, self->state.params.id, ps.exec_id,
                                       ps.pid, from_shim(ps.status), ps.exit});
                },
                [self, rp](caf::error& err) mutable {
                  noticed(self, err);
                  rp.deliver(std::move(err));
                });
        return rp;
      },
      [self](shim_event& ev) { on_shim_event(self, ev); },
      [self](shim_lost& l) { on_shim_lost(self, l); },
      [self](reach_atom) {
        auto p = self->state.phase;
        if (p == task_phase::recovering || p == task_phase::unknown) reach_shim(self);
      },
  };
}

void drop_the_rest(task_self self) {
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        spdlog::warn("{}: dropped an unexpected message {}", who(self), x.content().stringify());
        return caf::message{};
      });
}

// ---- creating ------------------------------------------------------------------

// A failed create leaves nothing: the shim (if one started) is deleted with
// its container, and the task actor ends.
void abandon(task_self self, caf::response_promise rp, caf::error err, bool shim_started) {
  auto& st = self->state;
  if (st.proxy) self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
  st.proxy = nullptr;
  auto finish = [self, rp, err]() mutable {
    if (auto e = remove_bundle(self->state.params.bundle); !e.empty())
      spdlog::warn("{}: {}", who(self), e);
    rp.deliver(std::move(err));
    self->quit();
  };
  if (!shim_started) {
    finish();
    return;
  }
  self->request(st.ctx.runtime, caf::infinite, cleanup_shim_atom::value, st.params.ns, st.params.id,
                st.params.bundle, st.params.bundle)
      .then([finish](const exit_status&) mutable { finish(); },
            [self, finish](caf::error& e) mutable {
              spdlog::error("{}: cannot clean up after a failed create: {}", who(self),
                            error_message(e));
              finish();
            });
}

void create_in_shim(task_self self, caf::response_promise rp) {
  auto& st = self->state;
  shim_create req{st.params.bundle,     st.params.stdio,         st.params.rootfs,
                  st.params.checkpoint, st.params.logs.max_size, st.params.logs.max_files};
  self->request(st.proxy, caf::infinite, std::move(req))
      .then(
          [self, rp](std::uint32_t pid) mutable {
            auto& st = self->state;
            st.record.pid = static_cast<std::int32_t>(pid);
            st.record.status = st.params.checkpoint.empty() ? task_status::created
                                                            : task_status::created_checkpoint;
            // The record is what lets a restarted berthd find this shim:
            // stored before the client hears of the task.
            self->request(st.ctx.store, caf::infinite, put_task_atom::value, st.record)
                .then(
                    [self, rp, pid](const task_record&) mutable {
                      drop_the_rest(self);
                      // An init exit may have come first (phase exiting).
                      if (self->state.phase == task_phase::creating)
                        self->state.phase = phase_of(self->state.record.status);
                      self->become(serving(self));
                      rp.deliver(pid);
                    },
                    [self, rp](caf::error& err) mutable { abandon(self, rp, err, true); });
          },
          [self, rp](caf::error& err) mutable { abandon(self, rp, err, true); });
}

// Only create is taken (and info, and the shim's events); a typed behavior
// must name the whole interface, so this partial one is built unchecked.
task_impl::behavior_type creating(task_self self) {
  return {task_impl::behavior_type::unsafe_init{},
          caf::behavior{
              [self](create_atom) -> caf::result<std::uint32_t> {
                auto& st = self->state;
                auto rp = self->make_response_promise<std::uint32_t>();
                self->request(st.ctx.runtime, caf::infinite, start_shim_atom::value, st.params.ns,
                              st.params.id, st.params.bundle, st.params.bundle)
                    .then(
                        [self, rp](std::string& address) mutable {
                          auto& st = self->state;
                          st.record.shim_address = address;
                          auto sink = caf::actor_cast<shim_event_sink>(self);
                          self->request(st.ctx.runtime, caf::infinite, connect_shim_atom::value,
                                        st.params.ns, st.params.id, address, sink)
                              .then(
                                  [self, rp](shim_proxy_actor& proxy) mutable {
                                    self->state.proxy = proxy;
                                    self->request(proxy, caf::infinite, shim_subscribe{0})
                                        .then([self, rp]() mutable { create_in_shim(self, rp); },
                                              [self, rp](caf::error& err) mutable {
                                                abandon(self, rp, err, true);
                                              });
                                  },
                                  [self, rp](caf::error& err) mutable {
                                    abandon(self, rp, err, true);
                                  });
                        },
                        [self, rp](caf::error& err) mutable { abandon(self, rp, err, false); });
                return rp;
              },
              [self](task_info_atom) { return info_of(self); },
              [self](shim_event& ev) { on_shim_event(self, ev); },
              [](shim_lost&) {},  // the create itself fails and cleans up
          }};
}

task_impl::behavior_type fresh_task(task_self self, task_context ctx, task_params params) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.params = std::move(params);
  st.record.ns = st.params.ns;
  st.record.id = st.params.id;
  st.record.status = task_status::created;
  st.phase = task_phase::creating;
  // Only create is legal until it answered: the table refuses the rest.
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto op = operation_of(x.content());
        if (!op) return caf::message{};
        return refuse(self, op_phrase(*op));
      });
  return creating(self);
}

// ---- recovering ----------------------------------------------------------------

task_impl::behavior_type recovered_task(task_self self, task_context ctx, task_params params,
                                        task_record record) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.params = std::move(params);
  st.record = std::move(record);
  st.last_event = st.record.last_acked_event;
  // Requests are deferred (task_states) until the shim answered or did not.
  st.phase = task_phase::recovering;
  drop_the_rest(self);
  self->send(self, reach_atom::value);
  return serving(self);
}

}  // namespace

task_actor spawn_task(caf::actor_system& sys, task_context ctx, task_params params) {
  task_actor task = sys.spawn(fresh_task, std::move(ctx), std::move(params));
  return task;
}

task_actor spawn_recovered_task(caf::actor_system& sys, task_context ctx, task_params params,
                                task_record record) {
  task_actor task = sys.spawn(recovered_task, std::move(ctx), std::move(params), std::move(record));
  return task;
}

}  // namespace berth
