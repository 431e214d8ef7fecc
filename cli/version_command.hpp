// `berth version`: the client's version, then the daemon's (as ctr
// prints them). The client part is printed even when berthd is down.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_version_command(CLI::App& app, verb_action& chosen);

// Prints the client part; used by --version and `berth version`.
void print_client_version();

}  // namespace berth::cli
