#include "actors/daemon/task_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>
#include <caf/message_handler.hpp>
#include <caf/skip.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <utility>

#include "actors/daemon/bundle.hpp"
#include "actors/errors.hpp"

namespace berth {
namespace {

using recover_atom = caf::atom_constant<caf::atom("recover")>;

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
  bool shim_gone = false;  // the shim died; nothing is left to ask
  bool exit_seen = false;  // the init exit is known (maybe not yet stored)
  bool exit_stored = false;
  bool deleting = false;
  std::uint64_t last_event = 0;  // highest shim event sequence handled
  std::map<std::string, exec_process> execs;
  std::vector<caf::response_promise> init_waiters;  // wait() before the exit is stored
  const char* state_name = "creating";

  static inline const char* name = "berth.task";
};

using task_self = caf::stateful_actor<task_data>;

std::string who(task_self* self) {
  return "task " + self->state.params.ns + "/" + self->state.params.id;
}

caf::error refuse(task_self* self, const std::string& op, const std::string& extra = "") {
  return make_error(errc::failed_precondition,
                    "cannot " + op + " " + who(self) + ": it is " + self->state.state_name + extra);
}

// What a request asks for, for a refusal's message.
std::string operation_of(const caf::type_erased_tuple& x) {
  if (x.match_elements<create_atom>()) return "create";
  if (x.match_elements<task_start>()) {
    auto& exec = x.get_as<task_start>(0).exec_id;
    return exec.empty() ? "start" : "start exec " + exec + " of";
  }
  if (x.match_elements<task_pids>()) return "list processes of";
  if (x.match_elements<task_pause>()) return "pause";
  if (x.match_elements<task_resume>()) return "resume";
  if (x.match_elements<task_kill>()) return "kill";
  if (x.match_elements<task_exec>()) return "exec in";
  if (x.match_elements<task_delete>()) return "delete";
  if (x.match_elements<task_close_io>()) return "close the I/O of";
  if (x.match_elements<task_attach>()) return "attach to";
  if (x.match_elements<task_resize_pty>()) return "resize the terminal of";
  if (x.match_elements<task_update>()) return "update";
  if (x.match_elements<task_metrics>()) return "collect metrics of";
  if (x.match_elements<task_checkpoint>()) return "checkpoint";
  return "";
}

// The handler for messages the current behavior does not take.
void refuse_the_rest(task_self* self) {
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto op = operation_of(x.content());
        if (op.empty()) {
          spdlog::warn("{}: dropped an unexpected message {}", who(self), x.content().stringify());
          return caf::message{};
        }
        return refuse(self, op);
      });
}

task_info info_of(task_self* self) {
  auto& r = self->state.record;
  task_info i;
  i.ns = r.ns;
  i.id = r.id;
  i.pid = static_cast<std::uint32_t>(r.pid);
  i.status = r.status;
  if (r.status == task_status::stopped) {
    i.exit.code = r.exit_code;
    i.exit.signal = r.exit_signal;
    i.exit.exited_at = r.exited_at;
    i.exit.reason = r.exit_reason;
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
void persist(task_self* self) {
  self->request(self->state.ctx.store, caf::infinite, put_task_atom::value, self->state.record)
      .then([](const task_record&) {},
            [self](caf::error& err) {
              spdlog::error("{}: cannot store its state: {}", who(self), error_message(err));
            });
}

void publish(task_self* self, berth_event e) {
  e.ns = self->state.params.ns;
  e.id = self->state.params.id;
  if (e.time == caf::timestamp{}) e.time = caf::make_timestamp();
  self->send(self->state.ctx.events, publish_atom::value, std::move(e));
}

caf::behavior in_state(task_self* self, task_status status);

void enter(task_self* self, task_status status) {
  if (self->state.deleting) return;
  self->become(in_state(self, status));
}

// The init process exited (an event, the shim's state after a restart, or
// the cleanup of a dead shim). Stored, then published and answered, once.
void on_init_exit(task_self* self, exit_status status, std::uint32_t pid) {
  auto& st = self->state;
  if (st.exit_seen) {
    // Known already (stored before a restart, or a repeat): only the state.
    enter(self, task_status::stopped);
    return;
  }
  st.exit_seen = true;
  bool already_stored = st.record.status == task_status::stopped;
  st.record.status = task_status::stopped;
  st.record.exit_code = status.code;
  st.record.exit_signal = status.signal;
  st.record.exited_at = status.exited_at;
  st.record.exit_reason = status.reason;
  auto done = [self, status, pid, already_stored] {
    auto& st = self->state;
    st.exit_stored = true;
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
    for (auto& w : st.init_waiters) w.deliver(status);
    st.init_waiters.clear();
  };
  enter(self, task_status::stopped);
  if (already_stored) {
    done();
    return;
  }
  task_exit te{status.code, status.signal, status.exited_at, status.reason};
  self->request(st.ctx.store, caf::infinite, task_exit_atom::value, st.params.ns, st.params.id, te)
      .then([done](const task_record&) { done(); },
            [self, done](caf::error& err) {
              spdlog::error("{}: cannot store its exit: {}", who(self), error_message(err));
              done();
            });
}

// The shim is gone for good: berth-shim delete collects what it recorded.
void bury_shim(task_self* self, const std::string& why) {
  auto& st = self->state;
  if (st.proxy) self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
  st.proxy = nullptr;
  st.shim_gone = true;
  auto fallback = [self, why](const std::string& more) {
    exit_status es;
    es.code = 255;
    es.exited_at = caf::make_timestamp();
    es.reason = "shim died: " + why + more;
    on_init_exit(self, es, 0);
  };
  self->request(st.ctx.runtime, caf::infinite, cleanup_shim_atom::value, st.params.ns, st.params.id,
                st.params.bundle, st.params.bundle)
      .then(
          [self, why](exit_status& es) {
            if (!es.reason.empty()) es.reason = "shim died (" + why + "): " + es.reason;
            on_init_exit(self, es, 0);
          },
          [fallback](caf::error& err) { fallback("; its cleanup failed: " + error_message(err)); });
}

void subscribe(task_self* self) {
  self->request(self->state.proxy, caf::infinite, shim_subscribe{self->state.last_event})
      .then([] {},
            [self](caf::error& err) {
              spdlog::warn("{}: cannot subscribe to its shim's events: {}", who(self),
                           error_message(err));
            });
}

void on_shim_event(task_self* self, shim_event& ev) {
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

void on_shim_lost(task_self* self, const std::string& reason) {
  auto& st = self->state;
  if (st.deleting || st.shim_gone || !st.proxy) return;
  spdlog::warn("{}: lost its shim ({}); reconnecting", who(self), reason);
  self->request(st.proxy, caf::infinite, shim_connect{})
      .then([self](const shim_info&) { subscribe(self); },
            [self, reason](caf::error&) { bury_shim(self, reason); });
}

// Handlers every state shares.
caf::message_handler common(task_self* self) {
  return {
      [self](task_info_atom) { return info_of(self); },
      [self](task_state& x) -> caf::result<task_info> {
        auto& st = self->state;
        if (x.exec_id.empty()) return info_of(self);
        auto it = st.execs.find(x.exec_id);
        if (it != st.execs.end()) {
          task_info i{st.params.ns,   st.params.id,      x.exec_id,
                      it->second.pid, it->second.status, it->second.exit};
          return i;
        }
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
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](task_wait& x) -> caf::result<exit_status> {
        auto& st = self->state;
        if (x.exec_id.empty()) {
          if (st.exit_stored) return info_of(self).exit;
          auto rp = self->make_response_promise<exit_status>();
          st.init_waiters.push_back(rp);
          return rp;
        }
        if (!st.proxy)
          return make_error(errc::not_found,
                            "exec " + x.exec_id + " of " + who(self) + " not found");
        return self->delegate(st.proxy, std::move(x));
      },
      [self](shim_event& ev) { on_shim_event(self, ev); },
      [self](shim_lost& l) { on_shim_lost(self, l.reason); },
  };
}

// ---- delete ------------------------------------------------------------------

void finish_delete(task_self* self, caf::response_promise rp, deleted_process dp) {
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
          [self, rp](caf::error& err) mutable {
            self->state.deleting = false;
            rp.deliver(std::move(err));
          });
}

// Deletes a created or stopped task: the shim deletes the container, exits,
// and the record goes.
void do_delete(task_self* self, caf::response_promise rp) {
  auto& st = self->state;
  st.deleting = true;
  if (st.shim_gone || !st.proxy) {
    deleted_process dp{static_cast<std::uint32_t>(st.record.pid), info_of(self).exit};
    finish_delete(self, rp, dp);
    return;
  }
  self->request(st.proxy, caf::infinite, shim_delete{})
      .then(
          [self, rp](deleted_process& dp) mutable {
            self->request(self->state.proxy, caf::infinite, shim_shutdown{false})
                .then([self, rp, dp] { finish_delete(self, rp, dp); },
                      [self, rp, dp](caf::error&) { finish_delete(self, rp, dp); });
          },
          [self, rp](caf::error& err) mutable {
            self->state.deleting = false;
            rp.deliver(std::move(err));
          });
}

caf::result<deleted_process> delete_task(task_self* self) {
  auto rp = self->make_response_promise<deleted_process>();
  do_delete(self, rp);
  return rp;
}

caf::result<deleted_process> delete_exec(task_self* self, const std::string& exec_id) {
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
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Running or paused: only with force — kill everything, wait for the exit,
// then delete.
caf::result<deleted_process> delete_live(task_self* self, task_delete& x) {
  if (!x.exec_id.empty()) return delete_exec(self, x.exec_id);
  if (!x.force) return refuse(self, "delete", "; kill it first, or delete with force");
  auto rp = self->make_response_promise<deleted_process>();
  self->request(self->state.proxy, caf::infinite, shim_kill{"", 9, true})
      .then(
          [self, rp]() mutable {
            self->request(caf::actor_cast<caf::actor>(self), std::chrono::seconds(30), task_wait{})
                .then([self, rp](const exit_status&) mutable { do_delete(self, rp); },
                      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// ---- operations forwarded to the shim ------------------------------------------

template <class Reply, class Msg>
caf::result<Reply> forward(task_self* self, Msg x) {
  if (!self->state.proxy) return make_error(errc::unavailable, who(self) + " has no shim to ask");
  return self->delegate(self->state.proxy, std::move(x));
}

caf::result<std::uint32_t> start_init(task_self* self) {
  auto rp = self->make_response_promise<std::uint32_t>();
  self->request(self->state.proxy, caf::infinite, shim_start{})
      .then(
          [self, rp](std::uint32_t pid) mutable {
            auto& st = self->state;
            if (!st.exit_seen) {
              st.record.pid = static_cast<std::int32_t>(pid);
              st.record.status = task_status::running;
              persist(self);
              enter(self, task_status::running);
            }
            rp.deliver(pid);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<std::uint32_t> start_exec(task_self* self, task_start& x) {
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
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Pause and resume change the state once the shim confirms.
template <class Msg>
caf::result<void> freeze(task_self* self, Msg x, task_status next) {
  auto rp = self->make_response_promise();
  self->request(self->state.proxy, caf::infinite, x)
      .then(
          [self, rp, next]() mutable {
            auto& st = self->state;
            if (!st.exit_seen) {
              st.record.status = next;
              persist(self);
              enter(self, next);
            }
            rp.deliver(caf::message{});
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::message_handler live_common(task_self* self) {
  return {
      [self](task_kill& x) { return forward<void>(self, std::move(x)); },
      [self](task_pids& x) { return forward<std::vector<process_info>>(self, x); },
      [self](task_metrics& x) { return forward<task_stats>(self, x); },
      [self](task_update& x) { return forward<void>(self, std::move(x)); },
      [self](task_close_io& x) { return forward<void>(self, std::move(x)); },
      [self](task_attach& x) { return forward<bool>(self, std::move(x)); },
      [self](task_resize_pty& x) { return forward<void>(self, std::move(x)); },
  };
}

caf::behavior created(task_self* self) {
  caf::message_handler own{
      [self](task_start& x) -> caf::result<std::uint32_t> {
        if (!x.exec_id.empty()) return refuse(self, "start exec " + x.exec_id + " of");
        return start_init(self);
      },
      [self](task_delete& x) -> caf::result<deleted_process> {
        if (!x.exec_id.empty()) return delete_exec(self, x.exec_id);
        return delete_task(self);
      },
  };
  return own.or_else(live_common(self)).or_else(common(self));
}

caf::behavior running(task_self* self) {
  caf::message_handler own{
      [self](task_start& x) -> caf::result<std::uint32_t> {
        if (x.exec_id.empty()) return refuse(self, "start");
        return start_exec(self, x);
      },
      [self](task_pause x) { return freeze(self, x, task_status::paused); },
      [self](task_exec& x) -> caf::result<void> {
        auto rp = self->make_response_promise();
        auto exec_id = x.exec_id;
        self->request(self->state.proxy, caf::infinite, std::move(x))
            .then(
                [self, rp, exec_id]() mutable {
                  self->state.execs[exec_id] = exec_process{};
                  rp.deliver(caf::message{});
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](task_delete& x) { return delete_live(self, x); },
      [self](task_checkpoint& x) { return forward<void>(self, std::move(x)); },
  };
  return own.or_else(live_common(self)).or_else(common(self));
}

caf::behavior paused(task_self* self) {
  caf::message_handler own{
      [self](task_resume x) { return freeze(self, x, task_status::running); },
      [self](task_delete& x) { return delete_live(self, x); },
      [self](task_checkpoint& x) { return forward<void>(self, std::move(x)); },
  };
  return own.or_else(live_common(self)).or_else(common(self));
}

caf::behavior stopped(task_self* self) {
  caf::message_handler own{
      [self](task_delete& x) -> caf::result<deleted_process> {
        if (!x.exec_id.empty()) return delete_exec(self, x.exec_id);
        return delete_task(self);
      },
      // Nothing runs any more; asking the shim would only add a way to hang.
      [](task_pids&) { return std::vector<process_info>{}; },
  };
  return own.or_else(common(self));
}

caf::behavior created_checkpoint(task_self* self) {
  caf::message_handler own{
      [self](task_start& x) -> caf::result<std::uint32_t> {
        if (!x.exec_id.empty()) return refuse(self, "start exec " + x.exec_id + " of");
        return start_init(self);
      },
      [self](task_kill& x) { return forward<void>(self, std::move(x)); },
      [self](task_delete& x) -> caf::result<deleted_process> {
        if (!x.exec_id.empty()) return delete_exec(self, x.exec_id);
        return delete_task(self);
      },
  };
  return own.or_else(common(self));
}

caf::behavior in_state(task_self* self, task_status status) {
  auto& st = self->state;
  st.state_name = to_string(status);
  switch (status) {
    case task_status::created:
      return created(self);
    case task_status::running:
      return running(self);
    case task_status::paused:
      return paused(self);
    case task_status::created_checkpoint:
      st.state_name = "created from a checkpoint";
      return created_checkpoint(self);
    case task_status::stopped:
    case task_status::unknown:
      st.state_name = "stopped";
      return stopped(self);
  }
  return stopped(self);
}

// ---- creating ------------------------------------------------------------------

// A failed create leaves nothing: the shim (if one started) is deleted with
// its container, and the task actor ends.
void abandon(task_self* self, caf::response_promise rp, caf::error err, bool shim_started) {
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

void create_in_shim(task_self* self, caf::response_promise rp) {
  auto& st = self->state;
  shim_create req{st.params.bundle, st.params.stdio, st.params.rootfs, st.params.checkpoint};
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
                      refuse_the_rest(self);
                      enter(self, self->state.record.status);
                      rp.deliver(pid);
                    },
                    [self, rp](caf::error& err) mutable { abandon(self, rp, err, true); });
          },
          [self, rp](caf::error& err) mutable { abandon(self, rp, err, true); });
}

caf::behavior creating(task_self* self) {
  return {
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
                          [self, rp](caf::error& err) mutable { abandon(self, rp, err, true); });
                },
                [self, rp](caf::error& err) mutable { abandon(self, rp, err, false); });
        return rp;
      },
      [self](task_info_atom) { return info_of(self); },
      [self](shim_event& ev) { on_shim_event(self, ev); },
      [](shim_lost&) {},  // the create itself fails and cleans up
  };
}

caf::behavior fresh_task(task_self* self, task_context ctx, task_params params) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.params = std::move(params);
  st.record.ns = st.params.ns;
  st.record.id = st.params.id;
  st.record.status = task_status::created;
  // Only create is legal until it answered.
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto op = operation_of(x.content());
        if (op.empty()) return caf::message{};
        return refuse(self, op, " (still being created)");
      });
  return creating(self);
}

// ---- recovering ----------------------------------------------------------------

void recovered(task_self* self, const process_state& ps) {
  auto& st = self->state;
  refuse_the_rest(self);
  auto status = from_shim(ps.status);
  if (ps.pid) st.record.pid = static_cast<std::int32_t>(ps.pid);
  subscribe(self);
  if (status == task_status::stopped) {
    on_init_exit(self, ps.exit, ps.pid);
    return;
  }
  if (status == task_status::unknown) status = st.record.status;
  if (status != st.record.status) {
    st.record.status = status;
    persist(self);
  }
  enter(self, status);
}

caf::behavior recovering(task_self* self) {
  return {
      [self](recover_atom) {
        auto& st = self->state;
        auto sink = caf::actor_cast<shim_event_sink>(self);
        self->request(st.ctx.runtime, caf::infinite, connect_shim_atom::value, st.params.ns,
                      st.params.id, st.record.shim_address, sink)
            .then(
                [self](shim_proxy_actor& proxy) {
                  self->state.proxy = proxy;
                  self->request(proxy, caf::infinite, shim_state{})
                      .then([self](process_state& ps) { recovered(self, ps); },
                            [self](caf::error& err) {
                              refuse_the_rest(self);
                              bury_shim(self, error_message(err));
                            });
                },
                [self](caf::error& err) {
                  refuse_the_rest(self);
                  bury_shim(self, error_message(err));
                });
      },
      // A listing never waits for the shim: the record answers.
      [self](task_info_atom) { return info_of(self); },
  };
}

caf::behavior recovered_task(task_self* self, task_context ctx, task_params params,
                             task_record record) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.params = std::move(params);
  st.record = std::move(record);
  st.last_event = st.record.last_acked_event;
  st.state_name = "recovering";
  if (st.record.status == task_status::stopped) {
    st.exit_seen = true;
    st.exit_stored = true;
  }
  // Requests wait in the mailbox until the shim has been asked.
  self->set_default_handler(caf::skip);
  self->send(self, recover_atom::value);
  return recovering(self);
}

}  // namespace

task_actor spawn_task(caf::actor_system& sys, task_context ctx, task_params params) {
  return caf::actor_cast<task_actor>(sys.spawn(fresh_task, std::move(ctx), std::move(params)));
}

task_actor spawn_recovered_task(caf::actor_system& sys, task_context ctx, task_params params,
                                task_record record) {
  return caf::actor_cast<task_actor>(
      sys.spawn(recovered_task, std::move(ctx), std::move(params), std::move(record)));
}

}  // namespace berth
