// `berth tasks|t`: start, ls, ps, kill, pause, resume, exec, wait, rm,
// attach, metrics, logs — the running instances of containers.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_tasks_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
