// Daemon events and the events actor: a durable event log with
// publish/subscribe, filters and replay.
//
// Every event berthd tells the world about — a task created, started, exited,
// a container created or deleted — is a berth_event. Publishers (task,
// container and registry actors) send them to the one events actor, which
// appends them to the event log in the metadata store (one gap-free sequence
// for the daemon, kept across restarts) and hands each, once committed, to
// every subscriber whose filter matches.
//
// The events actor and the store are one detached actor (two handles): a
// task's events and its exit (the store's taskExit) then enter one mailbox,
// so they are numbered in the order the task sent them, and the exit event is
// appended in the exit's own transaction (one fsync, and an exit is reported
// only once stored). So a published init-process exit is ignored: the store
// appended it with the exit. Events published together are appended in one
// transaction.
//
// A subscriber may start after a sequence number it saw (`since`): it first
// gets every matching event after it from the log, then the live ones, with
// nothing lost or repeated at the seam (both run on the actor's one thread).
// Subscribers acknowledge each event (ack); one that has `subscriber_limit`
// events unacknowledged is sent a final subscriber_too_slow event and
// dropped, so berthd never buffers without bound. A subscriber that
// terminates is dropped.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

#include "actors/runtime/shim_messages.hpp"
#include "actors/store/store_actor.hpp"
#include "actors/supervised.hpp"

namespace berth {

// The arm of wire::Event's union.
enum class event_kind : std::uint8_t {
  task_create = 0,
  task_start,
  task_exit,
  task_oom,
  task_paused,
  task_resumed,
  task_delete,
  task_exec_added,
  task_exec_started,
  container_create,
  container_update,
  container_delete,
  image_create,
  image_update,
  image_delete,
  // The last event a subscriber gets before it is dropped: `message` says why
  // and where to resume. Never stored.
  subscriber_too_slow,
};

// "/tasks/exit", "/containers/create", ...
const char* topic_of(event_kind kind);

struct berth_event {
  std::uint64_t sequence = 0;  // set by the events actor
  std::string ns;
  std::string id;  // the task, container or image
  caf::timestamp time{};
  event_kind kind = event_kind::task_create;
  std::string topic;               // set from kind by the events actor
  std::string exec_id;             // task exit, exec added/started
  std::uint32_t pid = 0;           // task create/start/exit/delete, exec started
  std::string bundle;              // task create
  exit_status status;              // task exit/delete
  std::string image;               // container create; image events: the digest
  std::string runtime;             // container create
  std::string name;                // image events
  std::uint64_t behind = 0;        // subscriber_too_slow: events not acknowledged
  std::uint64_t resume_since = 0;  // subscriber_too_slow: the last one acknowledged
  std::string message;             // subscriber_too_slow
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, berth_event& x) {
  return f(caf::meta::type_name("berth.berth_event"), x.sequence, x.ns, x.id, x.time, x.kind,
           x.topic, x.exec_id, x.pid, x.bundle, x.status, x.image, x.runtime, x.name, x.behind,
           x.resume_since, x.message);
}

// What a subscriber wants: an empty field matches everything.
struct event_filter {
  std::string ns;
  std::string topic_prefix;  // "/tasks/", "/tasks/exit", ...

  bool matches(const berth_event& e) const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_filter& x) {
  return f(caf::meta::type_name("berth.event_filter"), x.ns, x.topic_prefix);
}

using publish_atom = caf::atom_constant<caf::atom("publish")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using event_ack_atom = caf::atom_constant<caf::atom("eventAck")>;

using event_subscriber = caf::typed_actor<caf::reacts_to<berth_event>>;

// `since` for a subscriber that wants only what happens from now on.
inline constexpr std::uint64_t live_only = ~std::uint64_t{0};

using events_actor =
    caf::typed_actor<caf::reacts_to<publish_atom, berth_event>,
                     // (filter, subscriber, since). The subscriber receives every matching
                     // event numbered above `since` (live_only: above the newest one now),
                     // then the live ones. Replies with that starting number. Errors:
                     // invalid_argument when `since` is past the newest event,
                     // failed_precondition when events after it were pruned.
                     caf::replies_to<subscribe_atom, event_filter, event_subscriber,
                                     std::uint64_t>::with<std::uint64_t>,
                     caf::reacts_to<unsubscribe_atom, event_subscriber>,
                     // The subscriber has handled the event numbered `seq`.
                     caf::reacts_to<event_ack_atom, event_subscriber, std::uint64_t>,
                     failpoint_message>;

struct events_config {
  // Events sent to one subscriber and not acknowledged before it is dropped.
  std::uint64_t subscriber_limit = 10000;
  // Events the log keeps; a `since` older than those is refused.
  std::uint64_t retention = 100000;
};

struct store_and_events {
  store_actor store;
  events_actor events;
};

// Opens <root_dir>/meta.db (throws like spawn_store) and spawns the one
// detached actor that is both the store and the events actor.
store_and_events spawn_store_and_events(caf::actor_system& sys, const std::string& root_dir,
                                        events_config cfg = {});

}  // namespace berth
