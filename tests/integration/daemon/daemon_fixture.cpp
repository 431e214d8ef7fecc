#include "daemon_fixture.hpp"

#include <unistd.h>

namespace berth::test {

std::string unique_id(const std::string& stem) {
  return "daemon-" + stem + "-" + std::to_string(getpid());
}

task_dir::task_dir(const std::string& id_stem, const bundle_options& opts) {
  args.id = unique_id(id_stem);
  args.bundle = dir / "bundle";
  args.state_dir = dir / "state";
  make_busybox_bundle(args.bundle, opts);
}

task_dir::~task_dir() {
  // Kills a shim that is still there (even a stopped one) and its container.
  delete_shim(args);
}

daemon_fixture::daemon_fixture(std::chrono::milliseconds deadline, const std::string& shim_binary) {
  runtime_config rc;
  rc.name = "io.berth.runc.v1";
  rc.shim_binary = shim_binary;
  rc.runtime_binary = "runc";
  rc.call_deadline = deadline;
  runtime = spawn_runtime(sys, io, rc);
}

daemon_fixture::~daemon_fixture() {
  for (auto& p : proxies) self->send_exit(p, caf::exit_reason::user_shutdown);
  self->send_exit(runtime, caf::exit_reason::user_shutdown);
}

shim_proxy_actor daemon_fixture::start_and_connect(const task_dir& t) {
  auto address = ask<std::string>(runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                  t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(address);
  auto proxy = ask<shim_proxy_actor>(runtime, connect_shim_atom::value, t.args.ns, t.args.id,
                                     *address, sink());
  REQUIRE_VALUE(proxy);
  proxies.push_back(*proxy);
  return *proxy;
}

bool daemon_fixture::collect_until(const std::function<bool()>& pred,
                                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return pred();
    bool timed_out = false;
    self->receive([&](shim_event& e) { events.push_back(std::move(e)); },
                  [&](shim_lost& l) { lost = std::move(l); },
                  caf::after(left) >> [&] { timed_out = true; });
    if (timed_out) return pred();
  }
  return true;
}

}  // namespace berth::test
