#include "cli/version_command.hpp"

#include <iostream>

namespace berth::cli {

void print_client_version() {
  std::cout << "Client:\n  Version:  " << kClientVersion << "\n";
}

void add_version_command(CLI::App& app, verb_action& chosen) {
  auto* v = app.add_subcommand("version", "print the client's and berthd's versions");
  v->callback([&chosen] {
    chosen.run = [](daemon_client& client) {
      auto req = client.berth().versionRequest();
      req.initReq();
      auto resp = client.wait(req.send(), "version of berthd");
      check(resp.getResp(), "version of berthd");
      std::cout << "\nServer:\n  Version:  " << resp.getResp().getVersion().cStr()
                << "\n  Revision: " << resp.getResp().getRevision().cStr() << "\n";
      return 0;
    };
  });
}

}  // namespace berth::cli
