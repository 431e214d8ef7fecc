// The registry actor's state and what its two files share. Internal to
// actors/daemon; the interface is registry_actor.hpp.
//
//   registry_actor.cpp     validating and routing requests (`serving`)
//   registry_recovery.cpp  `recovering`: rebuilding containers and tasks from
//                          the store and cleaning up what no task owns, once,
//                          before the registry serves
#pragma once

#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/blocking_work.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/errors.hpp"

namespace berth::registry_detail {

struct registry_state {
  registry_config cfg;
  store_actor store;
  events_actor events;
  std::map<std::string, container_actor> containers;  // by "ns/id"
  std::set<std::string> creating;                     // "ns/id" being stored
  std::set<std::string> namespaces;
  // recovering: the answer to recover_all, and what it found so far.
  caf::typed_response_promise<recovery_report> recovery;
  recovery_report recovered;
  std::vector<std::string> snapshots;  // container snapshots the records name

  static inline const char* name = "berth.registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

inline std::string key_of(const std::string& ns, const std::string& id) {
  return ns + "/" + id;
}

// Spawns the actor for a stored container, monitored and linked.
void adopt_container(registry_pointer self, container_record rec);

// The two phases: `recovering` takes only recover_all and becomes
// `serving` once it has answered.
registry_actor::behavior_type serving(registry_pointer self);
registry_actor::behavior_type recovering(registry_pointer self);

// ---- blocking file-system work, off the scheduler ----------------------------------

// Runs `work` on a detached worker (actors/blocking_work.hpp), then `done` in
// the registry's context (also if the worker failed: whatever waits must go on).
template <class Done>
void off_scheduler(registry_pointer self, std::function<void()> work, Done done) {
  run_blocking(self, std::move(work), [done](caf::error err) mutable {
    if (err) spdlog::error("file-system work of the registry failed: {}", error_message(err));
    done();
  });
}

}  // namespace berth::registry_detail
