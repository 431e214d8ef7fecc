// A task's log, read on its own node for a client on another one: the node
// actor spawns a cursor per `t logs`, and the other node's API server asks it
// for one bounded batch at a time, as it would read the file itself.
#pragma once

#include <caf/actor_system.hpp>

#include <cstdint>
#include <string>

#include "actors/daemon/node_messages.hpp"

namespace berth {

// A cursor over the log at `path` (task.log and its rotated files), starting
// at the last `tail` lines (0: the beginning). It ends after a minute without
// a request, so a reader that went away costs nothing for long.
log_cursor_actor spawn_log_cursor(caf::actor_system& sys, std::string path, std::uint64_t tail);

}  // namespace berth
