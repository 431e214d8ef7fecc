// `berth run [--rm] [-d] [create's flags] IMAGE ID [ARGS…]`: create the
// container, create and start its task in one round trip, attach, wait,
// delete the task (and with --rm the container). Exits with the
// container's exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_run_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
