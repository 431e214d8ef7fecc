#include "actors/daemon/node_messages.hpp"

namespace berth {

void add_node_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<peer_address>("berth.peer_address");
  cfg.add_message_type<node_info>("berth.node_info");
  cfg.add_message_type<node_status>("berth.node_status");
  cfg.add_message_type<node_actor>("berth.node_actor");
  cfg.add_message_type<log_record>("berth.log_record");
  cfg.add_message_type<log_cursor_actor>("berth.log_cursor_actor");
  cfg.add_message_type<relayed_stdio>("berth.relayed_stdio");
}

}  // namespace berth
