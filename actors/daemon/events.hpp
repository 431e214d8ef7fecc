// Daemon events and the events actor: publish/subscribe with filters.
//
// Every event berthd tells the world about — a task created, started, exited,
// a container created or deleted — is a berth_event. Publishers (task and
// registry actors) send them to the one events actor, which numbers them in
// the order it receives them (one increasing sequence for the daemon) and
// hands each to every subscriber whose filter matches. Subscribers are actors:
// in-process ones, and the API server's bridge actor for each Cap'n Proto
// EventSink. A subscriber that terminates is dropped.
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
};

// "/tasks/exit", "/containers/create", ...
const char* topic_of(event_kind kind);

struct berth_event {
  std::uint64_t sequence = 0;  // set by the events actor
  std::string ns;
  std::string id;  // the task, container or image
  caf::timestamp time{};
  event_kind kind = event_kind::task_create;
  std::string topic;      // set from kind by the events actor
  std::string exec_id;    // task exit, exec added/started
  std::uint32_t pid = 0;  // task create/start/exit/delete, exec started
  std::string bundle;     // task create
  exit_status status;     // task exit/delete
  std::string image;      // container create; image events: the digest
  std::string runtime;    // container create
  std::string name;       // image events
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, berth_event& x) {
  return f(caf::meta::type_name("berth.berth_event"), x.sequence, x.ns, x.id, x.time, x.kind,
           x.topic, x.exec_id, x.pid, x.bundle, x.status, x.image, x.runtime, x.name);
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

using event_subscriber = caf::typed_actor<caf::reacts_to<berth_event>>;

using events_actor = caf::typed_actor<
    caf::reacts_to<publish_atom, berth_event>,
    // Replies with the sequence number of the last event published so far:
    // the subscriber receives every matching event numbered above it.
    caf::replies_to<subscribe_atom, event_filter, event_subscriber>::with<std::uint64_t>,
    caf::reacts_to<unsubscribe_atom, event_subscriber>, failpoint_message>;

events_actor spawn_events(caf::actor_system& sys);

}  // namespace berth
