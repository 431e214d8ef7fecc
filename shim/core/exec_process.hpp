// The process an exec runs: the container's own process (from its
// config.json: capabilities, rlimits, apparmor, no_new_privileges...) with
// what the client asked for laid over it. A client sets only what belongs
// to the process it starts, never what confines the container:
//  - args (not empty), env, cwd, user, terminal and consoleSize, freely;
//  - capabilities, each set within the container's own bounding set;
//  - any other field only when it equals the container's own (as `berth t
//    exec` sends the container's process back, changed in the fields above).
// An exec spec has no namespaces or mounts: they are the container's, in
// config.json outside `process`; a field of that name in an exec is refused
// like any other field that is not the container's.
#pragma once

#include <nlohmann/json.hpp>

namespace berth::shim {

// The merged process. Throws std::invalid_argument saying what was refused:
//   "capabilities" may not hold CAP_SYS_ADMIN (in "effective"): it is outside
//   the container's bounding set
nlohmann::json exec_process(const nlohmann::json& container_process, const nlohmann::json& request);

}  // namespace berth::shim
