#include "cli/run_command.hpp"
#include "cli/registry_transfer.hpp"

#include <memory>

#include "cli/create_options.hpp"
#include "cli/task_io_verbs.hpp"
#include "cli/task_session.hpp"

namespace berth::cli {
namespace {

struct run_options {
  create_options create;
  bool remove = false;
  bool detach = false;
};

void delete_container(daemon_client& client, const std::string& id) {
  auto req = client.berth().deleteContainerRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setId(id);
  auto resp = client.wait(req.send(), "delete container " + id);
  check(resp.getResp(), "delete container " + id);
}

int run(daemon_client& client, const run_options& o) {
  if (o.create.rootfs.empty()) ensure_image(client, o.create.image, o.create.pull);
  auto req = client.berth().createContainerRequest();
  fill_create_request(o.create, client.ns(), req.initReq());
  auto created = client.wait(req.send(), "create container " + o.create.id);
  check(created.getResp(), "create container " + o.create.id);

  start_options start{o.create.id, o.detach, o.create.tty, /*remove_task=*/true};
  int code = 0;
  try {
    code = start_task(client, start);
  } catch (const command_error&) {
    // A task that never started leaves nothing to keep with --rm.
    if (o.remove) {
      try {
        delete_container(client, o.create.id);
      } catch (const command_error& e) {
        print_error(e);
      }
    }
    throw;
  }
  if (o.remove) {
    try {
      delete_container(client, o.create.id);
    } catch (const command_error& e) {
      print_error(e);
      if (code == 0) code = 1;
    }
  }
  return code;
}

}  // namespace

void add_run_command(CLI::App& app, verb_action& chosen) {
  auto o = std::make_shared<run_options>();
  auto* v = app.add_subcommand("run", "create a container, start it attached, wait for its exit");
  auto* rm = v->add_flag("--rm", o->remove, "delete the container once it exited");
  v->add_flag("-d,--detach", o->detach, "return once it runs (output goes to its log)")
      ->excludes(rm);
  add_create_options(*v, o->create);
  v->callback([&chosen, o] {
    chosen.run = [o](daemon_client& cl) { return run(cl, *o); };
    if (!o->detach) chosen.signals = kAttachedSignals;
  });
}

}  // namespace berth::cli
