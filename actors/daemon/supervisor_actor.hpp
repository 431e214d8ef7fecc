// The supervisor: berth supervises itself the way it supervises containers.
// It starts berth's long-lived actors in dependency order
//
//   store (also the events actor) → images → runtimes (one per name) → registry
//
// monitors each, and when one fails (an exception escaped it, or it exited
// on its own) logs what failed and why and starts it again, together with
// every actor after it, since those hold handles to it ("rest for one", as in
// Erlang/OTP). The registry starts again from durable state: it reloads the
// store and reconnects its tasks to their shims, which never stopped.
// Requests that were in flight to the failed actor are answered by their
// callers' monitors (api_bridge.hpp) with `internal`, naming the actor and
// the cause. The new handles are published in berth_handles once the
// registry has recovered.
//
// More than restart_policy::max_restarts failures within its window and the
// supervisor gives up: it stops every actor, calls berth_config::on_give_up
// with the reason and exits with that reason.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <functional>
#include <memory>

#include "actors/daemon/berth_config.hpp"
#include "actors/daemon/berth_handles.hpp"
#include "actors/runtime/io_thread.hpp"

namespace berth {

using supervisor_ready_atom = caf::atom_constant<caf::atom("supReady")>;
using supervisor_restarts_atom = caf::atom_constant<caf::atom("supRestart")>;

using supervisor_actor = caf::typed_actor<
    // Answers once the first start finished: what recovery found, or why the
    // actors could not start (the store did not open, recovery failed).
    caf::replies_to<supervisor_ready_atom>::with<recovery_report>,
    // How many restarts happened so far, and whether berth serves now
    // (false while a restart is under way).
    caf::replies_to<supervisor_restarts_atom>::with<std::uint32_t, bool>>;

// How the supervisor spawns each of its children, given the handles of the
// children started before it. berthd's are the real actors
// (real_children); a test hands in fakes to drive failures and restarts
// (tests/unit/actors/supervisor_test.cpp).
struct supervisor_children {
  std::function<store_and_events(caf::actor_system&)> store;
  std::function<images_actor(caf::actor_system&, store_actor)> images;
  std::function<runtime_actor(caf::actor_system&, const runtime_config&)> runtime;
  std::function<registry_actor(caf::actor_system&, registry_config, store_actor, events_actor)>
      registry;
};

// The real store (and events), images, runtime and registry actors, as
// configured by `cfg`; runtimes connect their shims on `io`.
supervisor_children real_children(std::shared_ptr<io_thread> io, const berth_config& cfg);

// A supervisor of the real actors.
supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                                  berth_config cfg, std::shared_ptr<berth_handles> handles);

// A supervisor of the children `children` spawns. Its restart window is
// measured on the actor system's clock, so a test coordinator's clock drives it.
supervisor_actor spawn_supervisor(caf::actor_system& sys, berth_config cfg,
                                  std::shared_ptr<berth_handles> handles,
                                  supervisor_children children);

}  // namespace berth
