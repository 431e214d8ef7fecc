#include "actors/store/records.hpp"

#include "actors/errors.hpp"

namespace berth {

const char* to_string(task_status status) {
  switch (status) {
    case task_status::unknown:
      return "unknown";
    case task_status::created:
      return "created";
    case task_status::running:
      return "running";
    case task_status::paused:
      return "paused";
    case task_status::stopped:
      return "stopped";
    case task_status::created_checkpoint:
      return "created_checkpoint";
  }
  return "unknown";
}

std::optional<task_status> task_status_from_string(std::string_view text) {
  for (auto s : {task_status::unknown, task_status::created, task_status::running,
                 task_status::paused, task_status::stopped, task_status::created_checkpoint}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

void add_store_types(caf::actor_system_config& cfg) {
  // Also registers std::vector<T> as "std::vector<name>", the list replies.
  cfg.add_message_type<namespace_record>("berth.namespace_record");
  cfg.add_message_type<container_record>("berth.container_record");
  cfg.add_message_type<task_record>("berth.task_record");
  cfg.add_message_type<task_exit>("berth.task_exit");
  cfg.add_message_type<image_record>("berth.image_record");
  add_error_category(cfg);
}

}  // namespace berth
