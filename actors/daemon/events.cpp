#include "actors/daemon/events.hpp"

#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "actors/errors.hpp"
#include "actors/store/metadata_store.hpp"

namespace berth {

const char* topic_of(event_kind kind) {
  switch (kind) {
    case event_kind::task_create:
      return "/tasks/create";
    case event_kind::task_start:
      return "/tasks/start";
    case event_kind::task_exit:
      return "/tasks/exit";
    case event_kind::task_oom:
      return "/tasks/oom";
    case event_kind::task_paused:
      return "/tasks/paused";
    case event_kind::task_resumed:
      return "/tasks/resumed";
    case event_kind::task_delete:
      return "/tasks/delete";
    case event_kind::task_exec_added:
      return "/tasks/exec-added";
    case event_kind::task_exec_started:
      return "/tasks/exec-started";
    case event_kind::container_create:
      return "/containers/create";
    case event_kind::container_update:
      return "/containers/update";
    case event_kind::container_delete:
      return "/containers/delete";
    case event_kind::image_create:
      return "/images/create";
    case event_kind::image_update:
      return "/images/update";
    case event_kind::image_delete:
      return "/images/delete";
    case event_kind::subscriber_too_slow:
      return "/events/subscriber-too-slow";
  }
  return "/unknown";
}

bool event_filter::matches(const berth_event& e) const {
  if (!ns.empty() && e.ns != ns) return false;
  return e.topic.compare(0, topic_prefix.size(), topic_prefix) == 0;
}

namespace {

// ---- events as log rows ------------------------------------------------------

event_record to_record(const berth_event& e) {
  event_record r;
  r.time = e.time == caf::timestamp{} ? caf::make_timestamp() : e.time;
  r.ns = e.ns;
  r.id = e.id;
  r.topic = topic_of(e.kind);
  auto& d = r.details;
  d.exec_id = e.exec_id;
  d.pid = e.pid;
  d.bundle = e.bundle;
  d.exit_code = e.status.code;
  d.exit_signal = e.status.signal;
  d.exited_at = e.status.exited_at;
  d.exit_reason = e.status.reason;
  d.image = e.image;
  d.runtime = e.runtime;
  d.name = e.name;
  return r;
}

std::optional<event_kind> kind_of(const std::string& topic) {
  for (auto k = event_kind::task_create; k < event_kind::subscriber_too_slow;
       k = static_cast<event_kind>(static_cast<int>(k) + 1))
    if (topic == topic_of(k)) return k;
  return std::nullopt;
}

std::optional<berth_event> from_record(const event_record& r) {
  auto kind = kind_of(r.topic);
  if (!kind) return std::nullopt;
  berth_event e;
  e.sequence = r.seq;
  e.ns = r.ns;
  e.id = r.id;
  e.time = r.time;
  e.kind = *kind;
  e.topic = r.topic;
  auto& d = r.details;
  e.exec_id = d.exec_id;
  e.pid = d.pid;
  e.bundle = d.bundle;
  e.status.code = d.exit_code;
  e.status.signal = d.exit_signal;
  e.status.exited_at = d.exited_at;
  e.status.reason = d.exit_reason;
  e.image = d.image;
  e.runtime = d.runtime;
  e.name = d.name;
  return e;
}

// ---- subscriptions -----------------------------------------------------------

// Events read from the log per step of a replay, and the acknowledgements
// awaited before the next step: a replay never has more than this in flight.
constexpr std::size_t replay_page = 256;

struct subscription {
  event_filter filter;
  event_subscriber who;
  // Every event up to here was sent to it or did not match its filter.
  std::uint64_t position = 0;
  // Live: it gets events as they are committed. Until then it replays from
  // the log, and the live ones reach it through the log too.
  bool live = false;
  std::uint64_t in_flight = 0;  // sent, not acknowledged
  std::uint64_t acked = 0;      // where it could resume without a gap
};

using flush_atom = caf::atom_constant<caf::atom("evFlush")>;
using replay_atom = caf::atom_constant<caf::atom("evReplay")>;

struct events_state {
  std::shared_ptr<metadata_store> db;
  events_config cfg;
  std::uint64_t last = 0;             // the newest event committed
  std::vector<event_record> pending;  // published, appended by the next flush
  std::vector<subscription> subs;

  static inline const char* name = "berth.events";
};

using events_self = caf::stateful_actor<events_state>;

subscription* find(events_self* self, const caf::actor_addr& who) {
  for (auto& s : self->state.subs)
    if (s.who.address() == who) return &s;
  return nullptr;
}

void forget(events_self* self, const caf::actor_addr& who) {
  auto& subs = self->state.subs;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const subscription& s) { return s.who.address() == who; }),
             subs.end());
}

// Sends `s` its last event, saying why and where to resume, and drops it.
void drop_subscriber(events_self* self, subscription& s, std::uint64_t newest,
                     const std::string& why) {
  berth_event e;
  e.kind = event_kind::subscriber_too_slow;
  e.topic = topic_of(e.kind);
  e.time = caf::make_timestamp();
  e.behind = newest > s.acked ? newest - s.acked : 0;
  e.resume_since = s.acked;
  e.message = why.empty()
                  ? "subscriber too slow: " + std::to_string(e.behind) +
                        " events behind; resubscribe with --since " + std::to_string(s.acked)
                  : why;
  spdlog::warn("events: dropped a subscriber: {}", e.message);
  self->send(s.who, std::move(e));
  self->demonitor(s.who.address());
  s.who = nullptr;  // erased by the caller
}

void erase_dropped(events_self* self) {
  auto& subs = self->state.subs;
  subs.erase(std::remove_if(subs.begin(), subs.end(), [](const subscription& s) { return !s.who; }),
             subs.end());
}

// Newly committed events to the live subscribers, in order.
void deliver(events_self* self, std::vector<event_record>& batch) {
  auto& st = self->state;
  bool dropped = false;
  for (auto& r : batch) {
    st.last = std::max(st.last, r.seq);
    auto e = from_record(r);
    if (!e) continue;
    for (auto& s : st.subs) {
      if (!s.live || !s.who || r.seq <= s.position) continue;
      s.position = r.seq;
      if (!s.filter.matches(*e)) continue;
      if (s.in_flight >= st.cfg.subscriber_limit) {
        drop_subscriber(self, s, r.seq, "");
        dropped = true;
        continue;
      }
      ++s.in_flight;
      self->send(s.who, *e);
    }
  }
  if (dropped) erase_dropped(self);
}

void flush(events_self* self) {
  auto& st = self->state;
  if (st.pending.empty()) return;
  auto batch = std::exchange(st.pending, {});
  if (auto err = st.db->append_events(batch)) {
    spdlog::error("events: {} event(s) lost: {}", batch.size(), error_message(err));
    return;
  }
  deliver(self, batch);
}

// Sends `s` the next events from the log, until it has a page in flight or
// has caught up (then it is live: the seam is exact because appends and
// deliveries happen on this same thread).
void replay(events_self* self, subscription& s) {
  auto& st = self->state;
  for (int step = 0; !s.live; ++step) {
    if (s.in_flight >= replay_page / 2) return;  // the acks call again
    if (step == 4) {
      // Let writes in between long replays.
      self->send(self, replay_atom::value, s.who.address());
      return;
    }
    auto rows = st.db->events_after(s.position, replay_page);
    if (!rows) {
      // Pruned under a slow replay.
      drop_subscriber(self, s, st.last, error_message(rows.error()));
      erase_dropped(self);
      return;
    }
    for (auto& r : *rows) {
      s.position = r.seq;
      auto e = from_record(r);
      if (!e || !s.filter.matches(*e)) continue;
      ++s.in_flight;
      self->send(s.who, std::move(*e));
    }
    if (rows->size() < replay_page) {
      s.live = true;
      s.position = std::max(s.position, st.last);
    }
  }
}

caf::message_handler events_handlers(events_self* self) {
  return {
      [self](publish_atom, berth_event& e) {
        // The store appended it when it recorded the exit (see the header).
        if (e.kind == event_kind::task_exit && e.exec_id.empty()) return;
        if (e.kind == event_kind::subscriber_too_slow) return;
        auto& st = self->state;
        st.pending.push_back(to_record(e));
        // Whatever is already in the mailbox joins this transaction.
        if (st.pending.size() == 1) self->send(self, flush_atom::value);
      },
      [self](flush_atom) { flush(self); },
      [self](subscribe_atom, event_filter& filter, event_subscriber& who,
             std::uint64_t since) -> caf::result<std::uint64_t> {
        auto& st = self->state;
        flush(self);  // so `live_only` starts after what was published before
        if (since == live_only) since = st.last;
        // Refuses a `since` past the newest event or older than the log keeps.
        if (auto ok = st.db->events_after(since, 0); !ok) return std::move(ok.error());
        self->monitor(who);
        subscription s;
        s.filter = std::move(filter);
        s.who = std::move(who);
        s.position = since;
        s.acked = since;
        s.live = since >= st.last;
        st.subs.push_back(std::move(s));
        if (!st.subs.back().live) replay(self, st.subs.back());
        return since;
      },
      [self](replay_atom, const caf::actor_addr& who) {
        if (auto* s = find(self, who)) replay(self, *s);
      },
      [self](event_ack_atom, const event_subscriber& who, std::uint64_t seq) {
        auto* s = find(self, who.address());
        if (!s) return;
        if (s->in_flight) --s->in_flight;
        s->acked = std::max(s->acked, seq);
        if (!s->live) replay(self, *s);
      },
      [self](unsubscribe_atom, const event_subscriber& who) {
        self->demonitor(who.address());
        forget(self, who.address());
      },
  };
}

caf::behavior store_and_events_fun(events_self* self, std::shared_ptr<metadata_store> db,
                                   events_config cfg) {
  auto& st = self->state;
  st.db = db;
  st.cfg = cfg;
  db->set_event_retention(cfg.retention);
  if (auto span = db->event_bounds()) st.last = span->last;
  self->set_down_handler([self](caf::down_msg& msg) { forget(self, msg.source); });
  report_exceptions(self, "berth.store");
  store_event_hooks hooks;
  hooks.take_pending = [self] { return std::exchange(self->state.pending, {}); };
  hooks.committed = [self](std::vector<event_record>& batch) { deliver(self, batch); };
  return store_handlers(std::move(db), std::move(hooks))
      .or_else(events_handlers(self))
      .or_else(caf::message_handler{failpoint_handler()});
}

}  // namespace

store_and_events spawn_store_and_events(caf::actor_system& sys, const std::string& root_dir,
                                        events_config cfg) {
  // Opened here, not in the actor, so a bad root fails the caller at once.
  auto db = open_store(root_dir);
  // Detached: SQLite blocks on fsync, which must not stall the scheduler.
  auto a = sys.spawn<caf::detached>(store_and_events_fun, std::move(db), cfg);
  return {caf::actor_cast<store_actor>(a), caf::actor_cast<events_actor>(a)};
}

}  // namespace berth
