// `berth images|i`: import (with progress), ls, rm, tag — the daemon's
// image store. Until berthd's images land the daemon answers
// notImplemented, which these verbs report like any other error.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/daemon_client.hpp"

namespace berth::cli {

void add_images_command(CLI::App& app, verb_action& chosen);

}  // namespace berth::cli
