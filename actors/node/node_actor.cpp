#include "actors/node/node_actor.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <cctype>

#include "actors/errors.hpp"

namespace berth {

std::optional<std::string> check_node_name(const std::string& name) {
  static const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  if (name.empty() || name.size() > 63 || !std::isalnum(static_cast<unsigned char>(name[0])) ||
      name.find_first_not_of(allowed) != std::string::npos)
    return "invalid node name \"" + name +
           "\": 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit";
  return std::nullopt;
}

node_actor spawn_node(caf::actor_system& sys, std::string name,
                      std::shared_ptr<const berth_handles> handles) {
  return sys.spawn([name = std::move(name), handles = std::move(handles)](
                       node_actor::pointer) -> node_actor::behavior_type {
    return {
        [name, handles](node_hello_atom, const std::string& peer_set) -> caf::result<node_info> {
          if (peer_set != kActorMessageSet)
            return make_error(errc::failed_precondition,
                              "node " + name + " speaks " + kActorMessageSet +
                                  ", the peer speaks " + peer_set +
                                  ": run the same berth version on both");
          auto now = handles->get();
          if (!now.registry)
            return make_error(errc::unavailable, "node " + name + " is not serving yet");
          return node_info{name, kActorMessageSet, now.registry, now.images, now.events};
        },
    };
  });
}

void add_node_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<node_info>("berth.node_info");
  cfg.add_message_type<node_actor>("berth.node_actor");
}

}  // namespace berth
