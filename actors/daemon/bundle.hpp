// A task's bundle directory, <state>/<ns>/<id>: config.json (the OCI runtime
// spec), an empty rootfs/ mount point, and the files the shim adds (its
// socket, pid file, logs, init.exit).
#pragma once

#include <string>

namespace berth {

// Creates dir (mode 0711, parents as needed), dir/rootfs and dir/config.json
// (0600, written to a temp file and renamed). Returns "" or why it failed.
std::string write_bundle(const std::string& dir, const std::string& spec_json);

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
