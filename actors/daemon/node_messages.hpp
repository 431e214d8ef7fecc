// The messages nodes exchange: the node actor's interface (what a berthd
// publishes) and the records it answers with. Every type here crosses the
// network, so each is announced with a stable name (add_node_types) and any
// change bumps kActorMessageSet.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/daemon/events.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/daemon/task_log_reader.hpp"
#include "actors/images/images_actor.hpp"

namespace berth {

// The version of berth's message set: every announced type that crosses
// nodes and every actor interface. Bump it whenever one changes (a field
// added, removed or retyped, a handler's signature). Peers with different
// sets refuse each other at CAF's handshake, before any message is sent.
inline constexpr const char kActorMessageSet[] = "berth-actors/2";

using node_hello_atom = caf::atom_constant<caf::atom("nodeHello")>;
using node_join_atom = caf::atom_constant<caf::atom("nodeJoin")>;
using node_lookup_atom = caf::atom_constant<caf::atom("nodeLookup")>;
using node_list_atom = caf::atom_constant<caf::atom("nodeList")>;
using node_open_log_atom = caf::atom_constant<caf::atom("nodeLog")>;
using node_open_stdio_atom = caf::atom_constant<caf::atom("nodeStdio")>;
using node_receive_archive_atom = caf::atom_constant<caf::atom("nodeArchiv")>;
using archive_chunk_atom = caf::atom_constant<caf::atom("archChunk")>;
using log_next_atom = caf::atom_constant<caf::atom("logNext")>;

// A node and where its actors are published ("HOST:PORT").
struct peer_address {
  std::string name;
  std::string address;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_address& x) {
  return f(caf::meta::type_name("berth.peer_address"), x.name, x.address);
}

// What a node hands a peer: its name and its actors' current handles.
struct node_info {
  std::string name;
  std::string message_set;
  std::string address;
  registry_actor registry;
  images_actor images;
  events_actor events;
  caf::actor node;  // its node actor (a node_actor; untyped: the type names this struct)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("berth.node_info"), x.name, x.message_set, x.address, x.registry,
           x.images, x.events, x.node);
}

// A task's log read on its node, a batch at a time (task_log_reader there):
// next(max bytes, since ns) -> whole records, empty once all there is was
// read. It ends a minute after its last request.
using log_cursor_actor = caf::typed_actor<
    caf::replies_to<log_next_atom, std::uint64_t, std::int64_t>::with<std::vector<log_record>>>;

// A task's stdio relayed from another node (stdio_relay.hpp): the FIFOs made
// on the task's node for its shim, and that node's end of the relay.
struct relayed_stdio {
  stdio_paths paths;
  caf::actor end;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relayed_stdio& x) {
  return f(caf::meta::type_name("berth.relayed_stdio"), x.paths, x.end);
}

// One row of `berth nodes ls`.
struct node_status {
  std::string name;
  std::string address;
  bool up = false;
  std::string why;  // when down: the last failure
  std::uint32_t containers = 0;
  std::uint32_t tasks = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("berth.node_status"), x.name, x.address, x.up, x.why, x.containers,
           x.tasks);
}

// The published node actor.
// - hello(the peer's message set): this node's info; another set gets
//   failed_precondition naming both (the handshake refuses it first).
// - join(the peer, its node actor): a node joining the cluster; the answer
//   lists every node this one knows (itself included), which the joiner joins
//   in turn. The joiner's own handle comes with it so that this node talks
//   back over the joiner's connection: CAF keeps one connection per pair of
//   nodes, and a second one opened the other way would replace the first.
// - lookup(name): the named node's info, through this node (not_found for a
//   node nobody joined, unavailable for one that is down).
// - list: every node this one knows with its state and counts.
// - open_log(ns, id, tail lines): a cursor over a task's log on this node
//   (the log is a file here; other nodes read it through the cursor).
// - open_stdio(wanted, the client's end): FIFOs here for each stream
//   `wanted` names, relayed to and from the client's end on the caller's
//   node (stdio_relay.hpp), for a task created, exec'd or attached there.
// - receive_archive: a receiver for an image archive sent from another node
//   and imported here (actors/node/archive_receiver.hpp).
using node_actor = caf::typed_actor<
    caf::replies_to<node_hello_atom, std::string>::with<node_info>,
    caf::replies_to<node_join_atom, peer_address, caf::actor>::with<std::vector<peer_address>>,
    caf::replies_to<node_lookup_atom, std::string>::with<node_info>,
    caf::replies_to<node_list_atom>::with<std::vector<node_status>>,
    caf::replies_to<node_open_log_atom, std::string, std::string,
                    std::uint64_t>::with<log_cursor_actor>,
    caf::replies_to<node_open_stdio_atom, stdio_paths, caf::actor>::with<relayed_stdio>,
    caf::replies_to<node_receive_archive_atom>::with<caf::actor>>;

// Announces the types above.
void add_node_types(caf::actor_system_config& cfg);

}  // namespace berth
