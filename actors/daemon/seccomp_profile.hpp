// The default seccomp profile of a container (config.json's linux.seccomp):
// the same policy as Docker's and containerd's default. Everything is denied
// with EPERM except the system calls ordinary programs use; calls that only
// a capability makes useful (mount, ptrace-like inspection beyond the
// container, module loading, clock setting, ...) are allowed only when the
// container holds that capability; clone may not create namespaces without
// CAP_SYS_ADMIN; clone3 answers ENOSYS so that libc falls back to clone,
// whose flags a filter can read.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace berth {

// For a process with `capabilities` (the bounding set), on this machine's
// architecture family (x86-64 with its 32-bit ABIs, or arm64 with arm).
nlohmann::json default_seccomp_profile(const std::vector<std::string>& capabilities);

}  // namespace berth
