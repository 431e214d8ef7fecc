// berth as a library: the public header for a program that embeds berth's
// actors in its own CAF actor system (berthd is one such program).
//
//   caf::actor_system_config cfg;
//   berth::add_berth_types(cfg);
//   caf::actor_system sys{cfg};
//   auto io = std::make_shared<berth::io_thread>();
//   auto b = berth::start_berth(sys, io, config);   // throws on a bad root
//   ... send b.registry() typed messages (registry_actor.hpp) ...
//   berth::stop_berth(b);
//
// Configuration is passed in; nothing here reads a file of its own.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/daemon/berth_config.hpp"
#include "actors/daemon/berth_handles.hpp"
#include "actors/daemon/events.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/daemon/supervisor_actor.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/store/store_actor.hpp"

namespace berth {

// A running berth: its supervisor, and the current handles of the actors the
// supervisor keeps alive (a restart replaces them, so read them when needed).
struct berth_system {
  supervisor_actor supervisor;
  std::shared_ptr<berth_handles> handles = std::make_shared<berth_handles>();
  recovery_report recovered;

  registry_actor registry() const { return handles->registry(); }
  events_actor events() const { return handles->events(); }
  images_actor images() const { return handles->images(); }
  store_actor store() const { return handles->store(); }
};

// Announces every message type of berth's actors (and the error category).
void add_berth_types(caf::actor_system_config& cfg);

// Spawns the supervisor, which opens the store, spawns the actors and
// recovers what a previous run left: containers, tasks (reconnecting to their
// shims in the background) and orphaned shims. Returns once the registry can
// serve. Throws std::runtime_error when the root cannot be opened or recovery
// fails.
berth_system start_berth(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                         const berth_config& cfg);

// Stops the supervisor and with it the actors. Shims and containers keep running.
void stop_berth(caf::actor_system& sys, berth_system& b);

}  // namespace berth
