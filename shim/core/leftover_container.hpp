// What a dead shim's container can leave behind when the runtime never
// recorded it (a kill landed while `runc create` ran): the runtime process
// itself, still creating, and `runc init` waiting in the container's cgroup.
// `runc delete` cannot see either, so `berth-shim delete` ends them here.
#pragma once

#include <string>

namespace berth::shim {

// SIGKILLs every process whose arguments name `--bundle BUNDLE` (a runtime's
// create or run of this container) and waits, briefly, until they are gone.
// Returns how many there were.
int kill_runtime_processes(const std::string& bundle);

// The cgroup the bundle's config.json asks for (`linux.cgroupsPath`), when it
// is a plain absolute path without `..`; "" otherwise (a systemd slice, a
// missing or unreadable config).
std::string bundle_cgroup(const std::string& bundle);

// Kills what is left in `cgroup` in every cgroup hierarchy mounted here
// (thawing a frozen one first, or the kill would never land), waits until it
// is empty, and removes the leaf directory. Returns how many processes it
// killed; `why` says what it could not remove.
int sweep_cgroup(const std::string& cgroup, std::string& why);

}  // namespace berth::shim
