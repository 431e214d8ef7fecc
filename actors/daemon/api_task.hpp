// The API's Task capability: one task actor behind schema/api.capnp's Task
// interface. Internal to the API server.
#pragma once

#include <kj/memory.h>
#include <caf/actor.hpp>
#include <caf/error.hpp>

#include <memory>
#include <string>

#include "actors/daemon/api_bridge.hpp"
#include "actors/daemon/api_peer.hpp"
#include "actors/daemon/api_stdio_relay.hpp"
#include "actors/daemon/task_actor.hpp"
#include "schema/api.capnp.h"

namespace berth {

// Calls go to `task`; a task that has ended answers not_found. `log_path` is
// the task's CRI-format log, which `logs` streams; for a task on another node
// it is empty and `log_node` (that node's node actor) reads the log there.
// The host paths `peer` names (stdio of exec and attach, checkpoint paths)
// are checked as its own (client_paths.hpp) before the task sees them.
// `relays`, for a task on another node: the client's stdio relays to it
// (api_stdio_relay.hpp); exec and attach open theirs there.
wire::api::Task::Client make_task_capability(api_bridge bridge, task_actor task, std::string ns,
                                             std::string id, std::string log_path,
                                             caf::actor log_node, api_peer peer,
                                             std::shared_ptr<stdio_relays> relays = nullptr);

// A Task whose every call fails with `why`: what createTask hands out when
// the create failed, so calls pipelined on it report the real reason.
wire::api::Task::Client make_failed_task_capability(caf::error why);

}  // namespace berth
