#include "cli/containers_command.hpp"
#include "cli/registry_transfer.hpp"

#include <iostream>
#include <memory>

#include "cli/create_options.hpp"
#include "cli/flag_values.hpp"
#include "cli/json_output.hpp"
#include "cli/table.hpp"

namespace berth::cli {
namespace {

int create(daemon_client& client, const create_options& o) {
  if (o.rootfs.empty()) ensure_image(client, o.image, o.pull);
  auto req = client.berth().createContainerRequest();
  fill_create_request(o, client.ns(), req.initReq());
  auto resp = client.wait(req.send(), "create container " + o.id);
  check(resp.getResp(), "create container " + o.id);
  return 0;
}

int list(daemon_client& client, bool quiet, const std::string& format) {
  auto req = client.berth().listContainersRequest();
  req.initReq().setNamespace(client.ns());
  req.getReq().setOmitSpec(format != kFormatJson);  // only JSON prints the specs
  auto resp = client.wait(req.send(), "list containers");
  check(resp.getResp(), "list containers");
  auto containers = resp.getResp().getContainers();
  if (format == kFormatJson) {
    std::cout << to_json_array(containers).dump(2) << "\n";
  } else if (quiet) {
    for (auto c : containers) std::cout << c.getId().cStr() << "\n";
  } else {
    table t({"CONTAINER", "IMAGE", "RUNTIME"});
    for (auto c : containers) t.add({c.getId().cStr(), c.getImage().cStr(), c.getRuntime().cStr()});
    t.print(std::cout);
  }
  return 0;
}

int info(daemon_client& client, const std::string& id) {
  auto resp = get_container(client, id);
  std::cout << to_json(resp.getResp().getContainer()).dump(2) << "\n";
  return 0;
}

// Deletes each; one failure does not stop the others, but makes the exit 1.
int remove(daemon_client& client, const std::vector<std::string>& ids) {
  int rc = 0;
  for (const auto& id : ids) {
    try {
      auto req = client.berth().deleteContainerRequest();
      auto r = req.initReq();
      r.setNamespace(client.ns());
      r.setId(id);
      auto resp = client.wait(req.send(), "delete container " + id);
      check(resp.getResp(), "delete container " + id);
    } catch (const command_error& e) {
      print_error(e);
      rc = 1;
    }
  }
  return rc;
}

// With K=V pairs: sets them (an empty value removes the key). Without:
// prints the container's labels, one K=V a line.
int label(daemon_client& client, const std::string& id, const std::vector<std::string>& pairs) {
  auto req = client.berth().updateContainerRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setId(id);
  auto labels = r.initLabels(static_cast<unsigned>(pairs.size()));
  for (unsigned i = 0; i < pairs.size(); ++i) {
    auto kv = parse_key_value(pairs[i], "label");
    labels[i].setKey(kv.key);
    labels[i].setValue(kv.value);
  }
  if (pairs.empty()) {
    auto get_req = client.berth().getContainerRequest();
    get_req.initReq().setNamespace(client.ns());
    get_req.getReq().setId(id);
    auto resp = client.wait(get_req.send(), "container " + id);
    check(resp.getResp(), "container " + id);
    for (auto kv : resp.getResp().getContainer().getLabels()) {
      std::cout << kv.getKey().cStr() << "=" << kv.getValue().cStr() << "\n";
    }
    return 0;
  }
  auto resp = client.wait(req.send(), "label container " + id);
  check(resp.getResp(), "label container " + id);
  return 0;
}

}  // namespace

void add_containers_command(CLI::App& app, verb_action& chosen) {
  auto* c = app.add_subcommand("containers", "manage containers (metadata; tasks run them)");
  c->alias("c");
  c->require_subcommand(1);

  {
    auto o = std::make_shared<create_options>();
    auto* v = c->add_subcommand("create", "create a container from an image");
    add_create_options(*v, *o);
    v->callback([&chosen, o] { chosen.run = [o](daemon_client& cl) { return create(cl, *o); }; });
  }
  {
    struct list_options {
      bool quiet = false;
      std::string format = kFormatTable;
    };
    auto o = std::make_shared<list_options>();
    auto* v = c->add_subcommand("ls", "list containers");
    v->alias("list");
    v->add_flag("-q,--quiet", o->quiet, "print only the ids");
    v->add_option("--format", o->format, "table or json")
        ->check(CLI::IsMember({kFormatTable, kFormatJson}));
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return list(cl, o->quiet, o->format); };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* v = c->add_subcommand("info", "print a container's metadata and spec as JSON");
    v->add_option("ID", *id, "container id")->required();
    v->callback([&chosen, id] { chosen.run = [id](daemon_client& cl) { return info(cl, *id); }; });
  }
  {
    auto ids = std::make_shared<std::vector<std::string>>();
    auto* v = c->add_subcommand("rm", "delete containers (their tasks must be gone)");
    v->alias("delete");
    v->alias("del");
    v->add_option("ID", *ids, "container ids")->required();
    v->callback(
        [&chosen, ids] { chosen.run = [ids](daemon_client& cl) { return remove(cl, *ids); }; });
  }
  {
    struct label_options {
      std::string id;
      std::vector<std::string> pairs;
    };
    auto o = std::make_shared<label_options>();
    auto* v = c->add_subcommand("label", "set labels (K=V; K= removes), or print them");
    v->add_option("ID", o->id, "container id")->required();
    v->add_option("LABELS", o->pairs, "K=V pairs")->check(label_validator());
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return label(cl, o->id, o->pairs); };
    });
  }
}

}  // namespace berth::cli
