// The task actor's behaviors and the operations clients ask of it; what it
// records is in task_record.cpp, how it reaches its shim in task_reach.cpp
// (task_data.hpp has the state they share).
#include "actors/daemon/task_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/detail/type_list.hpp>
#include <caf/message_handler.hpp>
#include <caf/response_type.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <type_traits>
#include <utility>

#include "actors/daemon/bundle.hpp"
#include "actors/daemon/task_data.hpp"
#include "actors/daemon/task_states.hpp"
#include "actors/errors.hpp"

namespace berth {
namespace {

using namespace task_detail;

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

// ---- asking the shim ------------------------------------------------------------

template <class Outputs>
struct only_output;
template <class T>
struct only_output<caf::detail::type_list<T>> {
  using type = T;
};

// What the shim proxy answers to Msg (void for a reacts_to), read off its
// typed interface, so the task cannot disagree with it.
template <class Msg>
using shim_reply =
    typename only_output<caf::response_type_t<shim_proxy_actor::signatures, Msg>>::type;

// The shim's reply, passed on as it is.
struct as_is {
  void operator()() const {}
  template <class Reply>
  Reply operator()(Reply& r) const {
    return std::move(r);
  }
};

// Every request the task relays to its shim goes this way: the caller gets
// what `then` makes of the reply (run in the task's context, so it may change
// the task), or the proxy's error once the task noticed it (a missed
// deadline makes a live task unknown).
template <class Msg, class Then = as_is>
auto relay(task_self self, Msg x, Then then = {}) {
  using reply = shim_reply<Msg>;
  auto fail = [self](auto rp) {
    return [self, rp](caf::error& err) mutable {
      noticed(self, err);
      rp.deliver(std::move(err));
    };
  };
  if constexpr (std::is_void_v<reply>) {
    if (!self->state.proxy)
      return caf::result<void>{make_error(errc::unavailable, who(self) + " has no shim to ask")};
    auto rp = self->make_response_promise();
    self->request(self->state.proxy, caf::infinite, std::move(x))
        .then(
            [rp, then]() mutable {
              then();
              rp.deliver(caf::message{});
            },
            fail(rp));
    return caf::result<void>{rp};
  } else {
    using out = std::invoke_result_t<Then&, reply&>;
    if (!self->state.proxy)
      return caf::result<out>{make_error(errc::unavailable, who(self) + " has no shim to ask")};
    auto rp = self->make_response_promise<out>();
    self->request(self->state.proxy, caf::infinite, std::move(x))
        .then([rp, then](reply& r) mutable { rp.deliver(then(r)); }, fail(rp));
    return caf::result<out>{rp};
  }
}

// The handler of a request the shim answers by itself, once task_states
// allows `op` in the task's phase.
template <class Msg>
auto relayed(task_self self, task_op op) {
  return [self, op](Msg& x) -> caf::result<shim_reply<Msg>> {
    if (auto g = gate<shim_reply<Msg>>(self, op)) return std::move(*g);
    return relay(self, std::move(x));
  };
}

caf::result<std::uint32_t> start_init(task_self self) {
  return relay(self, shim_start{}, [self](std::uint32_t pid) {
    auto& st = self->state;
    // Unless the init exit came first (a process that ends at once).
    if (st.phase == task_phase::created || st.phase == task_phase::created_checkpoint) {
      st.record.pid = static_cast<std::int32_t>(pid);
      settle(self, task_status::running);
    }
    return pid;
  });
}

caf::result<std::uint32_t> start_exec(task_self self, task_start& x) {
  auto exec_id = x.exec_id;
  return relay(self, std::move(x), [self, exec_id](std::uint32_t pid) {
    auto& e = self->state.execs[exec_id];
    e.pid = pid;
    if (e.status == task_status::created) e.status = task_status::running;
    return pid;
  });
}

caf::result<void> add_exec(task_self self, task_exec& x) {
  auto exec_id = x.exec_id;
  return relay(self, std::move(x),
               [self, exec_id] { self->state.execs[exec_id] = exec_process{}; });
}

// Pause and resume change the state once the shim confirms.
template <class Msg>
caf::result<void> freeze(task_self self, Msg x, task_status next) {
  return relay(self, x, [self, next] {
    if (is_live(self->state.phase)) settle(self, next);
  });
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
  if (!self->state.proxy)
    return make_error(errc::not_found, "exec " + exec_id + " of " + who(self) + " not found");
  return relay(self, shim_delete{exec_id}, [self, exec_id](deleted_process& dp) {
    self->state.execs.erase(exec_id);
    return std::move(dp);
  });
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
      relayed<task_kill>(self, task_op::kill),
      [self](task_pids& x) -> caf::result<std::vector<process_info>> {
        if (auto g = gate<std::vector<process_info>>(self, task_op::pids)) return std::move(*g);
        // Nothing runs any more; asking the shim would only add a way to hang.
        auto p = self->state.phase;
        if (p == task_phase::exiting || p == task_phase::stopped)
          return std::vector<process_info>{};
        return relay(self, x);
      },
      relayed<task_metrics>(self, task_op::metrics),
      relayed<task_update>(self, task_op::update),
      relayed<task_close_io>(self, task_op::close_io),
      relayed<task_attach>(self, task_op::attach),
      relayed<task_resize_pty>(self, task_op::resize_pty),
      relayed<task_checkpoint>(self, task_op::checkpoint),
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
        return relay(self, x, [self](process_state& ps) {
          return task_info{self->state.params.ns,
                           self->state.params.id,
                           ps.exec_id,
                           ps.pid,
                           from_shim(ps.status),
                           ps.exit};
        });
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
                  st.params.checkpoint, st.params.logs.max_size, st.params.logs.max_files,
                  st.params.start};
  self->request(st.proxy, caf::infinite, std::move(req))
      .then(
          [self, rp](std::uint32_t pid) mutable {
            auto& st = self->state;
            st.record.pid = static_cast<std::int32_t>(pid);
            st.record.status = st.params.start                ? task_status::running
                               : st.params.checkpoint.empty() ? task_status::created
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