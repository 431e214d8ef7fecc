#include "actors/runtime/shim_messages.hpp"

#include "actors/errors.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/runtime/shim_command.hpp"
#include "actors/runtime/shim_proxy.hpp"

namespace berth {

const char* to_string(shim_status status) {
  switch (status) {
    case shim_status::unknown:
      return "unknown";
    case shim_status::created:
      return "created";
    case shim_status::running:
      return "running";
    case shim_status::paused:
      return "paused";
    case shim_status::stopped:
      return "stopped";
    case shim_status::created_checkpoint:
      return "created_checkpoint";
    case shim_status::deleted:
      return "deleted";
  }
  return "unknown";
}

void add_runtime_types(caf::actor_system_config& cfg) {
  // Each also registers std::vector<T> (the pids reply, the rootfs list).
  cfg.add_message_type<stdio_paths>("berth.stdio_paths");
  cfg.add_message_type<mount_spec>("berth.mount_spec");
  cfg.add_message_type<exit_status>("berth.exit_status");
  cfg.add_message_type<shim_connect>("berth.shim_connect");
  cfg.add_message_type<shim_info>("berth.shim_info");
  cfg.add_message_type<shim_create>("berth.shim_create");
  cfg.add_message_type<shim_start>("berth.shim_start");
  cfg.add_message_type<shim_state>("berth.shim_state");
  cfg.add_message_type<process_state>("berth.process_state");
  cfg.add_message_type<shim_pids>("berth.shim_pids");
  cfg.add_message_type<process_info>("berth.process_info");
  cfg.add_message_type<shim_pause>("berth.shim_pause");
  cfg.add_message_type<shim_resume>("berth.shim_resume");
  cfg.add_message_type<shim_kill>("berth.shim_kill");
  cfg.add_message_type<shim_exec>("berth.shim_exec");
  cfg.add_message_type<shim_wait>("berth.shim_wait");
  cfg.add_message_type<shim_delete>("berth.shim_delete");
  cfg.add_message_type<deleted_process>("berth.deleted_process");
  cfg.add_message_type<shim_close_io>("berth.shim_close_io");
  cfg.add_message_type<shim_attach>("berth.shim_attach");
  cfg.add_message_type<shim_resize_pty>("berth.shim_resize_pty");
  cfg.add_message_type<resource_limits>("berth.resource_limits");
  cfg.add_message_type<shim_update>("berth.shim_update");
  cfg.add_message_type<shim_stats>("berth.shim_stats");
  cfg.add_message_type<task_stats>("berth.task_stats");
  cfg.add_message_type<shim_checkpoint>("berth.shim_checkpoint");
  cfg.add_message_type<shim_shutdown>("berth.shim_shutdown");
  cfg.add_message_type<shim_subscribe>("berth.shim_subscribe");
  cfg.add_message_type<shim_event>("berth.shim_event");
  cfg.add_message_type<shim_lost>("berth.shim_lost");
  cfg.add_message_type<command_output>("berth.command_output");
  cfg.add_message_type<shim_event_sink>("berth.shim_event_sink");
  cfg.add_message_type<shim_proxy_actor>("berth.shim_proxy_actor");
  cfg.add_message_type<runtime_actor>("berth.runtime_actor");
  add_error_category(cfg);
}

}  // namespace berth
