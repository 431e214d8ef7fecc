// The whole command line: global flags and every verb group, put together
// once so main and the unit tests parse exactly the same thing.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/daemon_client.hpp"

namespace berth::cli {

// Adds the global options and all verbs to `app`; parsing sets `chosen`.
void build_command_line(CLI::App& app, global_options& globals, verb_action& chosen);

// The message and usage printed for bad usage (exit 2): `berth: <error>`,
// a blank line, then the help of the deepest verb the command line reached.
std::string usage_error(const CLI::App& app, const CLI::ParseError& error);

}  // namespace berth::cli
