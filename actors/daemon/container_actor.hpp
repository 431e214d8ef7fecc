// container: one actor per container. Metadata only — creating one runs
// nothing. It holds the container's record (id, image, runtime, spec, snapshot
// key, labels, times), answers info, label updates and delete, and creates
// the container's one task: it writes the bundle (config.json from the
// stored spec) and spawns the task actor, which it watches.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <vector>

#include "actors/daemon/task_actor.hpp"
#include "actors/images/images_actor.hpp"

namespace berth {

using adopt_task_atom = caf::atom_constant<caf::atom("adoptTask")>;

using container_actor =
    caf::typed_actor<caf::replies_to<get_cont_atom>::with<container_record>,
                     caf::replies_to<container_update>::with<container_record>,
                     // failed_precondition while it has a task; the container actor ends.
                     caf::replies_to<del_cont_atom>::with<container_record>,
                     // already_exists when it has a task.
                     caf::replies_to<task_create>::with<task_handle>,
                     // Its task (not_found without one).
                     caf::replies_to<get_task_atom>::with<task_handle>,
                     // Its task's info; empty without a task. Never waits for a shim.
                     caf::replies_to<list_task_atom>::with<std::vector<task_info>>,
                     // On restart: rebuild the task from its record (see spawn_recovered_task).
                     caf::reacts_to<adopt_task_atom, task_record>>;

// `state_dir` is berthd's --state; the bundle is <state>/<ns>/<id>. `ctx`
// must hold the runtime actor of the container's runtime.
// `images` mounts and removes the container's snapshot (record.snapshot_key).
container_actor spawn_container(caf::actor_system& sys, container_record record,
                                std::string state_dir, task_context ctx, images_actor images);

// <state>/<ns>/<id>
std::string bundle_dir(const std::string& state_dir, const std::string& ns, const std::string& id);

}  // namespace berth
