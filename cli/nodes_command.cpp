#include "cli/nodes_command.hpp"

#include <iostream>
#include <memory>

#include "cli/json_output.hpp"
#include "cli/table.hpp"

namespace berth::cli {
namespace {

int list(daemon_client& client, bool quiet, const std::string& format) {
  auto req = client.berth().listNodesRequest();
  req.initReq();
  auto resp = client.wait(req.send(), "list nodes");
  check(resp.getResp(), "list nodes");
  auto nodes = resp.getResp().getNodes();
  if (format == kFormatJson) {
    std::cout << to_json_array(nodes).dump(2) << "\n";
  } else if (quiet) {
    for (auto n : nodes) std::cout << n.getName().cStr() << "\n";
  } else {
    table out({"NAME", "ADDRESS", "STATUS", "CONTAINERS", "TASKS"});
    for (auto n : nodes) {
      bool up = n.getUp();
      out.add({n.getName().cStr(), n.getAddress().cStr(), up ? "up" : "down",
               up ? std::to_string(n.getContainers()) : "-",
               up ? std::to_string(n.getTasks()) : "-"});
    }
    out.print(std::cout);
  }
  return 0;
}

}  // namespace

void add_nodes_command(CLI::App& app, verb_action& chosen) {
  auto* nodes = app.add_subcommand("nodes", "the nodes of the cluster (berthd --join)");
  nodes->alias("node");
  nodes->require_subcommand(1);
  struct list_options {
    bool quiet = false;
    std::string format = kFormatTable;
  };
  auto o = std::make_shared<list_options>();
  auto* v = nodes->add_subcommand("ls", "list nodes: NAME, ADDRESS, STATUS, CONTAINERS, TASKS");
  v->alias("list");
  v->add_flag("-q,--quiet", o->quiet, "print only the names");
  v->add_option("--format", o->format, "table or json")
      ->check(CLI::IsMember({kFormatTable, kFormatJson}));
  v->callback([&chosen, o] {
    chosen.run = [o](daemon_client& cl) { return list(cl, o->quiet, o->format); };
  });
}

}  // namespace berth::cli
