// A task's bundle directory, <state>/<ns>/<id>: config.json (the OCI runtime
// spec), an empty rootfs/ mount point, `runtime` (the name of the berth
// runtime that runs the task, so a bundle whose records are gone is still
// cleaned up by the runtime that made it), and the files the shim adds (its
// socket, pid file, logs, init.exit).
#pragma once

#include <string>

namespace berth {

// Creates dir (mode 0711, parents as needed), dir/rootfs, dir/config.json
// and dir/runtime (0600, each written to a temp file and renamed). Returns ""
// or why it failed.
std::string write_bundle(const std::string& dir, const std::string& spec_json,
                         const std::string& runtime);

// The runtime name write_bundle recorded; "" for a bundle written before
// berth recorded it (or without one).
std::string bundle_runtime(const std::string& dir);

// Removes dir and what is in it without ever crossing into another file
// system: a rootfs still mounted there is left alone (and reported), never
// emptied. Returns "" or what was left and why. A missing dir is fine.
std::string remove_bundle(const std::string& dir);

// Detaches every mount at dir/rootfs (the shim mounts the container's
// snapshot there at task create). For a bundle no task owns, at recovery:
// a crash can leave the mount behind. Returns how many mounts went, or -1
// with `error` set.
int unmount_rootfs(const std::string& dir, std::string& error);

}  // namespace berth
