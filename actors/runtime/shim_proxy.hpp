// shim_proxy: one actor per task that speaks for that task's berth-shim. The
// shim's Task interface (schema/shim.capnp) appears as typed messages, so
// the rest of berthd sees the shim as one more actor.
//
// The Cap'n Proto connection itself lives on the io_thread; the proxy posts
// each call there and keeps the caller's response promise until the KJ side
// answers with a message. Every call but shim_wait has a deadline
// (shim_proxy_config::deadline): when it passes the answer is
// deadline_exceeded, "shim for task default/web did not answer state within
// 5s", so a hung shim slows only its own task. Errors the shim reports keep
// its code and message; a lost or missing connection is `unavailable`. All
// errors are berth errors (actors/errors.hpp).
//
// Events the shim publishes go to the subscriber given at spawn, as
// shim_event messages in the shim's order with its sequence numbers, once
// shim_subscribe asked for them. The shim counts an event as delivered only
// when the proxy has handed it to the subscriber's mailbox; if the subscriber
// is gone the event stays with the shim for the next subscription. When the
// connection drops, the subscriber gets one shim_lost.
//
// The proxy does not connect at spawn: shim_connect connects (again, after a
// loss; a subscription does not survive the old connection, so subscribe
// again after reconnecting). It stops when its subscriber terminates, or on an exit message; its
// connection is closed on the KJ thread and pending callers get `unavailable`.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/shim_messages.hpp"

namespace berth {

// Who receives a proxy's events. A task actor whose interface includes these
// two converts to it; any other actor can be cast with caf::actor_cast.
using shim_event_sink = caf::typed_actor<caf::reacts_to<shim_event>, caf::reacts_to<shim_lost>>;

using shim_proxy_actor = caf::typed_actor<
    caf::replies_to<shim_connect>::with<shim_info>,
    caf::replies_to<shim_create>::with<std::uint32_t>,  // init pid
    caf::replies_to<shim_start>::with<std::uint32_t>,   // pid
    caf::replies_to<shim_state>::with<process_state>,
    caf::replies_to<shim_pids>::with<std::vector<process_info>>, caf::reacts_to<shim_pause>,
    caf::reacts_to<shim_resume>, caf::reacts_to<shim_kill>, caf::reacts_to<shim_exec>,
    caf::replies_to<shim_wait>::with<exit_status>,  // no deadline
    caf::replies_to<shim_delete>::with<deleted_process>, caf::reacts_to<shim_close_io>,
    caf::replies_to<shim_attach>::with<bool>,  // stdin still open
    caf::reacts_to<shim_resize_pty>, caf::reacts_to<shim_update>,
    caf::replies_to<shim_stats>::with<task_stats>, caf::reacts_to<shim_checkpoint>,
    caf::reacts_to<shim_shutdown>, caf::reacts_to<shim_subscribe>>;

struct shim_proxy_config {
  std::string ns = "default";
  std::string id;
  std::string address;  // "unix:/path", as `berth-shim start` prints it
  std::chrono::milliseconds deadline{5000};
  // For create, start and delete, which run the OCI runtime.
  std::chrono::milliseconds command_deadline{30000};
};

// Spawns a proxy for one shim. `io` carries its connection and must be the
// same io_thread for the proxy's whole life (the proxy keeps a reference).
shim_proxy_actor spawn_shim_proxy(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                                  shim_proxy_config cfg, shim_event_sink subscriber);

}  // namespace berth
