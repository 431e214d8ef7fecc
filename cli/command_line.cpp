#include "cli/command_line.hpp"

#include "cli/containers_command.hpp"
#include "cli/events_command.hpp"
#include "cli/images_command.hpp"
#include "cli/namespaces_command.hpp"
#include "cli/nodes_command.hpp"
#include "cli/run_command.hpp"
#include "cli/shim_command.hpp"
#include "cli/tasks_command.hpp"
#include "cli/version_command.hpp"

namespace berth::cli {
namespace {

// The deepest subcommand the command line reached, whose usage fits the
// mistake best ("berth c create --env X" shows create's flags).
const CLI::App* deepest_parsed(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return deepest_parsed(*sub);
  return &app;
}

}  // namespace

void build_command_line(CLI::App& app, global_options& globals, verb_action& chosen) {
  app.name("berth");
  app.require_subcommand(1);
  add_global_options(app, globals);
  add_containers_command(app, chosen);
  add_tasks_command(app, chosen);
  add_run_command(app, chosen);
  add_images_command(app, chosen);
  add_events_command(app, chosen);
  add_namespaces_command(app, chosen);
  add_nodes_command(app, chosen);
  add_version_command(app, chosen);
  add_shim_command(app);
}

std::string usage_error(const CLI::App& app, const CLI::ParseError& error) {
  return "berth: " + std::string(error.what()) + "\n\n" + deepest_parsed(app)->help();
}

}  // namespace berth::cli
