// registry: the daemon's one entry point. It knows the runtimes by name
// (registered at spawn from configuration), the namespaces, and every
// container by namespace and id; it validates requests and routes them to
// the container actors, which own their tasks.
//
// Errors (berth errors, actors/errors.hpp): invalid_argument for a bad id or
// namespace, an unknown runtime (the message names the runtimes that exist)
// or malformed options; already_exists; not_found for an unknown container,
// task or image; failed_precondition for an operation the object's state
// refuses.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <map>
#include <string>
#include <vector>

#include "actors/daemon/container_actor.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/supervised.hpp"
#include "schema/log_limits.hpp"

namespace berth {

using recover_all_atom = caf::atom_constant<caf::atom("recoverAll")>;
using runtimes_atom = caf::atom_constant<caf::atom("runtimes")>;

// What a restart found; the reply to recover_all_atom.
struct recovery_report {
  std::uint32_t containers = 0;
  std::uint32_t tasks = 0;
  std::uint32_t orphan_shims = 0;  // shims no task owns, deleted
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recovery_report& x) {
  return f(caf::meta::type_name("berth.recovery_report"), x.containers, x.tasks, x.orphan_shims);
}

using registry_actor = caf::typed_actor<
    caf::replies_to<put_ns_atom, namespace_record>::with<namespace_record>,
    caf::replies_to<list_ns_atom>::with<std::vector<namespace_record>>,
    caf::replies_to<del_ns_atom, std::string>::with<namespace_record>,
    caf::replies_to<container_create>::with<container_record>,
    caf::replies_to<get_cont_atom, std::string, std::string>::with<container_record>,
    caf::replies_to<list_cont_atom, std::string>::with<std::vector<container_record>>,
    caf::replies_to<list_cont_brief_atom, std::string>::with<std::vector<container_record>>,
    caf::replies_to<container_update>::with<container_record>,
    caf::replies_to<del_cont_atom, std::string, std::string>::with<container_record>,
    caf::replies_to<task_create>::with<task_handle>,
    caf::replies_to<get_task_atom, std::string, std::string>::with<task_handle>,
    // Every task in a namespace ("" = all); answered by the task actors,
    // which never wait for their shims.
    caf::replies_to<list_task_atom, std::string>::with<std::vector<task_info>>,
    // The runtime names, sorted.
    caf::replies_to<runtimes_atom>::with<std::vector<std::string>>,
    // Once, before serving: load the metadata, rebuild containers and tasks,
    // delete shims no task owns.
    caf::replies_to<recover_all_atom>::with<recovery_report>, failpoint_message>;

struct registry_config {
  std::string state_dir;  // bundles live in <state>/<ns>/<id>
  std::string default_runtime = "io.berth.runc.v1";
  std::map<std::string, runtime_actor> runtimes;
  images_actor images;  // resolves images to snapshots; may be null (then --rootfs only)
  std::int64_t default_pids_limit = 0;  // for a container that names none; 0: no limit
  log_limits logs;                      // task log limits of a container created without its own
};

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg, store_actor store,
                              events_actor events);

}  // namespace berth
