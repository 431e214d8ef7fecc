// `berth nodes ls`: the nodes of the cluster the daemon belongs to, up or
// down, with their containers and tasks (docs/cluster.md). The global
// --node NAME sends any other verb to one of them.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_nodes_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
