// What this machine can do, asked the way a test needs it. A test that
// skips for one of these says so with BERTH_SKIP (skip.hpp); scripts/test
// accepts only the reasons a machine truly imposes.
#pragma once

#include <string>

namespace berth::test {

// True when `name` is a program on PATH.
bool have_program(const std::string& name);

// True when `criu check` passes: CRIU can checkpoint on this kernel. (On
// these machines it cannot: "vdso: Unexpected rt vDSO area bounds".)
bool criu_runs_here();

// Loads the overlay module when it is not loaded yet (root only), so a
// check of /proc/filesystems sees overlayfs where the kernel has it. True
// when a real overlay mount works afterwards.
bool overlay_mounts_here();

}  // namespace berth::test
