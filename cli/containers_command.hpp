// `berth containers|c`: create, ls|list, info, rm|delete, label — container
// metadata only; nothing runs (tasks do that).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_containers_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
