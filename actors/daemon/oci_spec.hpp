// The OCI runtime spec (config.json) of a container: the defaults a
// containerd user gets — pid/ipc/uts/mount/network namespaces; /proc, /dev,
// /dev/pts, /dev/shm, /dev/mqueue, /sys and /run mounts; the default
// capability set (--cap-add/--cap-drop: capability_sets.hpp); masked and
// read-only paths; RLIMIT_NOFILE 1024; hostname = id; cgroup
// /berth/<ns>/<id>, so equal ids in two namespaces never share one — with the
// create options on top, and the host devices the registry looked up
// (host_devices.hpp).
#pragma once

#include <caf/expected.hpp>

#include <string>

#include "actors/daemon/daemon_messages.hpp"

namespace berth {

// `root_path` is config.json's root.path: "rootfs" (the bundle's mount point)
// or an absolute prepared directory. invalid_argument when an option is
// malformed (an env entry without '=', a relative mount path, no command).
caf::expected<std::string> generate_spec(const std::string& ns, const std::string& id,
                                         const container_options& opts,
                                         const std::string& root_path);

}  // namespace berth
