#include "actors/daemon/berth.hpp"

#include <caf/scoped_actor.hpp>

#include <filesystem>
#include <stdexcept>

#include "actors/errors.hpp"

namespace berth {

std::vector<runtime_config> default_runtimes(const std::string& shim_binary,
                                             const std::string& state_dir) {
  runtime_config runc;
  runc.name = "io.berth.runc.v1";
  runc.shim_binary = shim_binary;
  runc.runtime_binary = "runc";
  runc.runtime_root = state_dir + "/.runtime/" + runc.name;
  runtime_config crun = runc;
  crun.name = "io.berth.crun.v1";
  crun.runtime_binary = "crun";
  crun.runtime_root = state_dir + "/.runtime/" + crun.name;
  return {runc, crun};
}

void add_berth_types(caf::actor_system_config& cfg) {
  add_store_types(cfg);
  add_runtime_types(cfg);
  add_images_types(cfg);
  cfg.add_message_type<berth_event>("berth.berth_event");
  cfg.add_message_type<event_filter>("berth.event_filter");
  cfg.add_message_type<container_options>("berth.container_options");
  cfg.add_message_type<container_create>("berth.container_create");
  cfg.add_message_type<container_update>("berth.container_update");
  cfg.add_message_type<task_create>("berth.task_create");
  cfg.add_message_type<task_info>("berth.task_info");
  cfg.add_message_type<task_delete>("berth.task_delete");
  cfg.add_message_type<task_handle>("berth.task_handle");
  cfg.add_message_type<recovery_report>("berth.recovery_report");
  cfg.add_message_type<event_subscriber>("berth.event_subscriber");
  cfg.add_message_type<task_actor>("berth.task_actor");
  cfg.add_message_type<container_actor>("berth.container_actor");
  cfg.add_message_type<registry_actor>("berth.registry_actor");
  cfg.add_message_type<events_actor>("berth.events_actor");
}

berth_system start_berth(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                         const berth_config& cfg) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.state, ec);
  if (ec)
    throw std::runtime_error("cannot create state directory " + cfg.state + ": " + ec.message());
  berth_system b;
  auto store_events = spawn_store_and_events(sys, cfg.root, cfg.events);
  b.store = store_events.store;
  b.events = store_events.events;
  b.images = spawn_images(sys, b.store, images_config{cfg.root, cfg.snapshotter});
  registry_config rc;
  rc.state_dir = cfg.state;
  rc.default_runtime = cfg.default_runtime;
  rc.images = b.images;
  for (const auto& r : cfg.runtimes) {
    auto rt = spawn_runtime(sys, io, r);
    b.runtimes[r.name] = rt;
    rc.runtimes[r.name] = rt;
  }
  if (!rc.runtimes.count(rc.default_runtime))
    throw std::runtime_error("default runtime " + rc.default_runtime + " is not configured");
  b.registry = spawn_registry(sys, std::move(rc), b.store, b.events);
  caf::scoped_actor self{sys};
  std::string failure;
  // The default namespace always exists (images are imported into it).
  self->request(b.store, caf::infinite, put_ns_atom::value, namespace_record{"default", {}, {}})
      .receive([](const namespace_record&) {},
               [&](caf::error& err) {
                 if (error_code(err) != errc::already_exists) failure = error_message(err);
               });
  self->request(b.registry, caf::infinite, recover_all_atom::value)
      .receive([&](recovery_report& r) { b.recovered = r; },
               [&](caf::error& err) { failure = error_message(err); });
  if (!failure.empty()) {
    stop_berth(sys, b);
    throw std::runtime_error("cannot recover the previous state: " + failure);
  }
  return b;
}

void stop_berth(caf::actor_system& sys, berth_system& b) {
  caf::scoped_actor self{sys};
  auto stop = [&](auto& handle) {
    if (handle) self->send_exit(handle, caf::exit_reason::user_shutdown);
  };
  stop(b.registry);
  for (auto& [name, rt] : b.runtimes) stop(rt);
  stop(b.events);
  stop(b.images);
  stop(b.store);
}

}  // namespace berth
