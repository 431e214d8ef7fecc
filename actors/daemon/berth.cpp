#include "actors/daemon/berth.hpp"

#include <sys/stat.h>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "actors/daemon/node_messages.hpp"
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
  cfg.add_message_type<supervisor_actor>("berth.supervisor_actor");
  add_node_types(cfg);
}

namespace {

void private_directory(const std::string& dir, mode_t mode, const char* what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), mode) != 0) {
    throw std::runtime_error(std::string("cannot create ") + what + " directory " + dir + ": " +
                             (ec ? ec.message() : std::strerror(errno)));
  }
}

}  // namespace

berth_system start_berth(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                         const berth_config& cfg) {
  // Only root may reach what leads to a container's files (the class of
  // containerd's CVE-2021-41103): the root is 0700; the state 0711, so the
  // socket's group can reach the API socket by its name but list nothing.
  // Both are berth's own directories, so a wider mode found there is fixed.
  private_directory(cfg.root, 0700, "root");
  private_directory(cfg.state, 0711, "state");
  if (std::none_of(cfg.runtimes.begin(), cfg.runtimes.end(),
                   [&](const runtime_config& r) { return r.name == cfg.default_runtime; }))
    throw std::runtime_error("default runtime " + cfg.default_runtime + " is not configured");
  berth_system b;
  b.supervisor = spawn_supervisor(sys, std::move(io), cfg, b.handles);
  caf::scoped_actor self{sys};
  std::string failure;
  self->request(b.supervisor, caf::infinite, supervisor_ready_atom::value)
      .receive([&](recovery_report& r) { b.recovered = r; },
               [&](caf::error& err) { failure = error_message(err); });
  if (!failure.empty()) {
    stop_berth(sys, b);
    throw std::runtime_error(failure);
  }
  return b;
}

void stop_berth(caf::actor_system& sys, berth_system& b) {
  caf::scoped_actor self{sys};
  if (b.supervisor) self->send_exit(b.supervisor, caf::exit_reason::user_shutdown);
}

}  // namespace berth
