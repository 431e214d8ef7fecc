// berth as a library: the public header for a program that embeds berth's
// actors in its own CAF actor system (berthd is one such program).
//
//   caf::actor_system_config cfg;
//   berth::add_berth_types(cfg);
//   caf::actor_system sys{cfg};
//   auto io = std::make_shared<berth::io_thread>();
//   auto b = berth::start_berth(sys, io, config);   // throws on a bad root
//   ... send b.registry typed messages (registry_actor.hpp) ...
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

#include "actors/daemon/events.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/store/store_actor.hpp"

namespace berth {

struct berth_config {
  std::string root = "/var/lib/berth";  // meta.db, content, snapshots
  std::string state = "/run/berth";     // bundles, runtime roots, the API socket
  std::string default_runtime = "io.berth.runc.v1";
  std::vector<runtime_config> runtimes;  // by name; see default_runtimes()
  std::string snapshotter = "auto";      // overlay, copy, or auto (overlay when it mounts)
  events_config events;                  // subscriber limit, event log retention
};

// io.berth.runc.v1 and io.berth.crun.v1 with `shim_binary`, their OCI
// runtimes found on PATH and their roots under <state>/.runtime/<name> (a name
// no namespace can have, so it never meets a bundle directory).
std::vector<runtime_config> default_runtimes(const std::string& shim_binary,
                                             const std::string& state_dir);

struct berth_system {
  store_actor store;
  events_actor events;
  images_actor images;
  std::map<std::string, runtime_actor> runtimes;
  registry_actor registry;
  recovery_report recovered;
};

// Announces every message type of berth's actors (and the error category).
void add_berth_types(caf::actor_system_config& cfg);

// Opens the store, spawns the actors and recovers what a previous run left:
// containers, tasks (reconnecting to their shims in the background) and
// orphaned shims. Returns once the registry can serve. Throws
// std::runtime_error when the root cannot be opened or recovery fails.
berth_system start_berth(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                         const berth_config& cfg);

// Stops the actors. Shims and containers keep running.
void stop_berth(caf::actor_system& sys, berth_system& b);

}  // namespace berth
