// What berth's actors are started with; filled by berthd from flags and
// config.toml (daemon_config.hpp), or by a program that embeds berth.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <map>
#include "actors/daemon/events.hpp"

#include "actors/images/image_limits.hpp"
#include "actors/images/registry_client.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "schema/log_limits.hpp"

namespace berth {

// How the supervisor answers failures of berth's own actors.
struct restart_policy {
  // More than `max_restarts` failures within `window` and the supervisor
  // gives up: a crash loop helps nobody, and a clean stop says why.
  int max_restarts = 5;
  std::chrono::milliseconds window{10000};
};

struct berth_config {
  std::string root = "/var/lib/berth";  // meta.db, content, snapshots
  std::string state = "/run/berth";     // bundles, runtime roots, the API socket
  std::string default_runtime = "io.berth.runc.v1";
  std::vector<runtime_config> runtimes;  // by name; see default_runtimes()
  std::string snapshotter = "auto";      // overlay, copy, or auto (overlay when it mounts)
  images::image_limits image_limits;     // what one untrusted image may cost ([images])
  std::map<std::string, images::registry_host_config> registries;  // [registry."host:port"]
  // The pids limit of a container that sets none (podman's default); 0: none.
  std::int64_t pids_limit = 2048;
  events_config events;  // subscriber limit, event log retention
  restart_policy restarts;
  log_limits logs;  // of a container created without its own limits
  // Called once, from an actor thread, when the supervisor gives up (the
  // policy's bound was passed): berthd stops with the reason. Empty: only logged.
  std::function<void(const std::string& reason)> on_give_up;
};

// io.berth.runc.v1 and io.berth.crun.v1 with `shim_binary`, their OCI
// runtimes found on PATH and their roots under <state>/.runtime/<name> (a name
// no namespace can have, so it never meets a bundle directory).
std::vector<runtime_config> default_runtimes(const std::string& shim_binary,
                                             const std::string& state_dir);

}  // namespace berth
