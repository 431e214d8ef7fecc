// What a berthd publishes to other actor systems: one small actor that names
// the node and hands out the current handles of its registry, images and
// events actors. A supervisor restart replaces those actors, so a peer asks
// again (a new hello) rather than keeping what it was first given.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/daemon/berth_handles.hpp"

namespace berth {

// The version of berth's message set: every announced type that crosses
// nodes and every actor interface. Bump it whenever one changes (a field
// added, removed or retyped, a handler's signature). Peers with different
// sets refuse each other at CAF's handshake, before any message is sent.
inline constexpr const char kActorMessageSet[] = "berth-actors/1";

using node_hello_atom = caf::atom_constant<caf::atom("nodeHello")>;

struct node_info {
  std::string name;
  std::string message_set;
  registry_actor registry;
  images_actor images;
  events_actor events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("berth.node_info"), x.name, x.message_set, x.registry, x.images,
           x.events);
}

// hello(the peer's message set) -> this node's name and handles; a peer with
// another message set gets failed_precondition naming both (the handshake
// refuses it first; this is the second line, for a peer that skipped it).
using node_actor = caf::typed_actor<caf::replies_to<node_hello_atom, std::string>::with<node_info>>;

// Why `name` cannot name a node, or nothing: 1-63 of [A-Za-z0-9._-], starting
// with a letter or digit (a host name's alphabet).
std::optional<std::string> check_node_name(const std::string& name);

node_actor spawn_node(caf::actor_system& sys, std::string name,
                      std::shared_ptr<const berth_handles> handles);

// Announces node_info and node_actor (berth's own types: add_berth_types).
void add_node_types(caf::actor_system_config& cfg);

}  // namespace berth
