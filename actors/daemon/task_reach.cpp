// Reaching the shim: at recovery and after a lost connection the task
// connects a fresh proxy and asks the shim its state. A shim that does not
// answer makes the task `unknown`, asked again with backoff; a shim that is
// gone (shim_presence.hpp) is buried with `berth-shim delete`. See
// task_data.hpp for the files of the task actor.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "actors/daemon/shim_presence.hpp"
#include "actors/daemon/task_data.hpp"
#include "actors/errors.hpp"

namespace berth::task_detail {
namespace {

// A shim that did not answer is asked again after 0.5 s, then 1, 2, 4, 8
// and every 10 s: soon enough to notice a shim that was only stopped for a
// moment, rare enough that a stuck one costs nothing.
constexpr std::chrono::milliseconds first_retry{500};
constexpr std::chrono::milliseconds last_retry{10000};

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

}  // namespace

std::string silence(task_self self) {
  auto& st = self->state;
  return "its shim does not answer (pid " + std::to_string(st.shim_pid) + ", " +
         std::to_string(st.attempts) + (st.attempts == 1 ? " attempt" : " attempts") +
         "); retrying";
}

// Errors from any call to the shim: a missed deadline means it is slow.
void noticed(task_self self, const caf::error& err) {
  if (error_code(err) == errc::deadline_exceeded && is_live(self->state.phase))
    unreachable(self, err);
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

}  // namespace berth::task_detail
