// berth: the command-line client of berthd. Its verbs mirror containerd's
// ctr (containers, tasks, run, images, events, namespaces, version), plus
// `berth shim`, which talks to one berth-shim directly.
//
// Exit codes: 0 success; 1 a failure reported as `berth: <what>: <why>`;
// 2 bad usage (message and usage on stderr); for attached `run`, `t start`
// and `t exec`, the process's own exit code.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/shim_command.hpp"
#include "cli/version_command.hpp"

int main(int argc, char** argv) {
  using namespace berth::cli;
  CLI::App app{"berth: the client of berthd, a container supervisor"};
  global_options globals;
  verb_action chosen;
  build_command_line(app, globals, chosen);
  bool version = false;
  app.add_flag("-v,--version", version, "print the client version and exit");

  // --version needs no verb: the verb is checked after parsing instead.
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
    if (version) {
      print_client_version();
      return 0;
    }
    if (app.get_subcommands().empty()) throw CLI::RequiredError("A subcommand");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << usage_error(app, e);
    return 2;
  }

  if (app.got_subcommand("shim")) return run_shim_command();
  if (app.got_subcommand("version")) print_client_version();
  try {
    daemon_client client(globals, chosen.signals);
    return chosen.run(client);
  } catch (const command_error& e) {
    std::cout.flush();
    print_error(e);
    return 1;
  }
}
