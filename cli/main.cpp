// berth: the command-line client. Its verbs mirror containerd's ctr; for
// now only `berth shim` (a shim's own API) exists, the daemon verbs follow
// with berthd.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/shim_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"berth: a container supervisor (client)"};
  app.require_subcommand(1);
  bool version = false;
  app.add_flag("--version", version, "print the client version");
  berth::cli::add_shim_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Bad usage: the message and usage on stderr, exit 2, as people expect.
    std::cerr << "berth: " << e.what() << "\n\n" << app.help();
    return 2;
  }
  return berth::cli::run_shim_command();
}
