// `berth namespaces|ns`: ls, create, rm. Objects live in one namespace
// each; -n/--namespace (or BERTH_NAMESPACE) picks it for the other verbs.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_namespaces_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
