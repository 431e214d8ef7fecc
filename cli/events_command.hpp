// `berth events [--filter topic=PREFIX] [--filter namespace=NS]`: prints
// events as they happen, one a line, until interrupted (exit 0) or until
// berthd goes away (exit 1).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_events_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
