#include "actors/images/images_messages.hpp"

namespace berth {

void add_images_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<import_request>("berth.import_request");
  cfg.add_message_type<prepare_request>("berth.prepare_request");
  cfg.add_message_type<prepared_snapshot>("berth.prepared_snapshot");
  cfg.add_message_type<images::mount_spec>("berth.images.mount_spec");
  cfg.add_message_type<images::import_progress>("berth.import_progress");
  cfg.add_message_type<pull_request>("berth.pull_request");
  cfg.add_message_type<push_request>("berth.push_request");
  cfg.add_message_type<images::pull_progress>("berth.pull_progress");
}

}  // namespace berth
