// The node actor: what a berthd publishes to other actor systems, and its
// side of the cluster. It answers hello with this node's name and the current
// handles of its registry, images and events actors (a supervisor restart
// replaces those, so peers say hello again, once a second), and keeps the
// membership: every node it joined or that joined it, reached through CAF's
// middleman, up while it answers and down (with why) while it does not,
// reconnected by itself when it comes back.
#pragma once

#include <caf/actor_system.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/daemon/berth_handles.hpp"
#include "actors/daemon/node_messages.hpp"
#include "actors/node/node_endpoint.hpp"

namespace berth {

struct node_config {
  std::string name;
  // Where this node's actors are published, as peers reach them (HOST:PORT),
  // and how to reach peers (the same TLS files, the same message set).
  actor_endpoint endpoint;
  std::vector<std::string> join;  // HOST:PORT of nodes to join at start
  std::string state_dir;          // where task logs are (<state>/<ns>/<id>/task.log)
  std::string root_dir;           // where archives sent from other nodes are kept until imported
  std::int64_t free_space_reserve = 0;  // what those leave free ([images] free_space_reserve)
};

// Why `name` cannot name a node, or nothing: 1-63 of [A-Za-z0-9._-], starting
// with a letter or digit (a host name's alphabet).
std::optional<std::string> check_node_name(const std::string& name);

node_actor spawn_node(caf::actor_system& sys, node_config cfg,
                      std::shared_ptr<const berth_handles> handles);

}  // namespace berth
