#include "cli/namespaces_command.hpp"

#include <iostream>
#include <memory>

#include "cli/display.hpp"
#include "cli/flag_values.hpp"
#include "cli/json_output.hpp"
#include "cli/table.hpp"

namespace berth::cli {
namespace {

int list(daemon_client& client, bool quiet, const std::string& format) {
  auto req = client.berth().listNamespacesRequest();
  req.initReq();
  auto resp = client.wait(req.send(), "list namespaces");
  check(resp.getResp(), "list namespaces");
  auto namespaces = resp.getResp().getNamespaces();
  if (format == kFormatJson) {
    std::cout << to_json_array(namespaces).dump(2) << "\n";
  } else if (quiet) {
    for (auto n : namespaces) std::cout << n.getName().cStr() << "\n";
  } else {
    table out({"NAME", "LABELS"});
    for (auto n : namespaces) out.add({n.getName().cStr(), labels_text(n.getLabels())});
    out.print(std::cout);
  }
  return 0;
}

int create(daemon_client& client, const std::string& name, const std::vector<std::string>& labels) {
  auto req = client.berth().createNamespaceRequest();
  auto r = req.initReq();
  r.setName(name);
  auto wire_labels = r.initLabels(static_cast<unsigned>(labels.size()));
  for (unsigned i = 0; i < labels.size(); ++i) {
    auto kv = parse_key_value(labels[i], "--label");
    wire_labels[i].setKey(kv.key);
    wire_labels[i].setValue(kv.value);
  }
  auto resp = client.wait(req.send(), "create namespace " + name);
  check(resp.getResp(), "create namespace " + name);
  return 0;
}

int remove(daemon_client& client, const std::vector<std::string>& names) {
  int rc = 0;
  for (const auto& name : names) {
    try {
      auto req = client.berth().deleteNamespaceRequest();
      req.initReq().setName(name);
      auto resp = client.wait(req.send(), "delete namespace " + name);
      check(resp.getResp(), "delete namespace " + name);
      std::cout << name << "\n";  // ctr prints each removed namespace
    } catch (const command_error& e) {
      print_error(e);
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

void add_namespaces_command(CLI::App& app, verb_action& chosen) {
  auto* ns = app.add_subcommand("namespaces", "manage namespaces");
  ns->alias("ns");
  ns->alias("namespace");
  ns->require_subcommand(1);
  {
    struct list_options {
      bool quiet = false;
      std::string format = kFormatTable;
    };
    auto o = std::make_shared<list_options>();
    auto* v = ns->add_subcommand("ls", "list namespaces");
    v->alias("list");
    v->add_flag("-q,--quiet", o->quiet, "print only the names");
    v->add_option("--format", o->format, "table or json")
        ->check(CLI::IsMember({kFormatTable, kFormatJson}));
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return list(cl, o->quiet, o->format); };
    });
  }
  {
    struct ns_create_options {
      std::string name;
      std::vector<std::string> labels;
    };
    auto o = std::make_shared<ns_create_options>();
    auto* v = ns->add_subcommand("create", "create a namespace");
    v->add_option("NAME", o->name, "namespace name")->required();
    v->add_option("--label", o->labels, "add a label (repeatable)")
        ->allow_extra_args(false)
        ->check(label_validator());
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return create(cl, o->name, o->labels); };
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* v = ns->add_subcommand("rm", "delete empty namespaces");
    v->alias("remove");
    v->alias("delete");
    v->add_option("NAME", *names, "namespace names")->required();
    v->callback([&chosen, names] {
      chosen.run = [names](daemon_client& cl) { return remove(cl, *names); };
    });
  }
}

}  // namespace berth::cli
