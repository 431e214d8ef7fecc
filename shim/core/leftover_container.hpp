// What a dead shim's container can leave behind when the runtime never
// recorded it (a kill landed while `runc create` ran): the runtime process
// itself, still creating, and `runc init` waiting in the container's cgroup.
// `runc delete` cannot see either, so `berth-shim delete` ends them here.
#pragma once

#include <string>

namespace berth::shim {

// SIGKILLs every process of `runtime` (by its program name) in this mount
// namespace whose arguments name `--bundle BUNDLE` (a create or run of this
// container), and waits, briefly, until they are gone. Returns how many.
int kill_runtime_processes(const std::string& bundle, const std::string& runtime);

// The cgroup the bundle's config.json asks for (`linux.cgroupsPath`), when it
// is a plain absolute path without `..`; "" otherwise (a systemd slice, a
// missing or unreadable config).
std::string bundle_cgroup(const std::string& bundle);

// Kills what the runtime left in `cgroup` (its `init`, or its create naming
// the bundle) in every cgroup hierarchy mounted here, thawing a frozen one
// first (or the kill would never land), and removes the leaf directory once
// empty. Any other process is not this container's to kill: the cgroup then
// stays, and `why` says so. Returns how many processes it killed.
int sweep_cgroup(const std::string& cgroup, const std::string& bundle, const std::string& runtime,
                 std::string& why);

}  // namespace berth::shim
