// `berth shim ...`: talks to one berth-shim directly over its socket, the
// way `ctr shim` talks to a containerd shim. For debugging and for seeing
// the shim work before (or without) berthd.
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

// Adds the `shim` subcommand and its verbs to `app`; run_shim_command runs
// whichever was parsed and returns the process exit code.
void add_shim_command(CLI::App& app);
int run_shim_command();

}  // namespace berth::cli
