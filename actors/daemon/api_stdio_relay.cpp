#include "actors/daemon/api_stdio_relay.hpp"

#include <caf/send.hpp>

#include "actors/daemon/node_messages.hpp"
#include "actors/daemon/stdio_relay.hpp"

namespace berth {

stdio_relays::~stdio_relays() {
  for (auto& [key, end] : ends) caf::anon_send(end, relay_close_atom::value);
}

bool names_paths(const stdio_paths& stdio) {
  return !stdio.in.empty() || !stdio.out.empty() || !stdio.err.empty();
}

kj::Promise<caf::expected<stdio_paths>> open_stdio_relay(const api_bridge& bridge,
                                                         std::shared_ptr<stdio_relays> relays,
                                                         std::string key, stdio_paths client) {
  auto here = open_client_stdio_end(*bridge.sys, client);
  if (!here) return caf::expected<stdio_paths>{here.error()};
  auto end = *here;
  auto node = caf::actor_cast<node_actor>(relays->node);
  return ask<relayed_stdio>(bridge, node, node_open_stdio_atom::value, client, end)
      .then([relays, key = std::move(key), end](caf::expected<relayed_stdio> there) mutable {
        if (!there) {
          caf::anon_send(end, relay_close_atom::value);
          return caf::expected<stdio_paths>{there.error()};
        }
        caf::anon_send(end, relay_peer_atom::value, there->end);
        auto& slot = relays->ends[key];
        if (slot) caf::anon_send(slot, relay_close_atom::value);  // an earlier attach's
        slot = end;
        return caf::expected<stdio_paths>{std::move(there->paths)};
      });
}

void drop_stdio_relay(stdio_relays& relays, const std::string& key) {
  auto it = relays.ends.find(key);
  if (it == relays.ends.end()) return;
  caf::anon_send(it->second, relay_close_atom::value);
  relays.ends.erase(it);
}

namespace {

// Asks the end under `key` (an end that already finished answers an error:
// it had nothing left to wait for).
template <class Atom>
kj::Promise<void> ask_end(const api_bridge& bridge, std::shared_ptr<stdio_relays> relays,
                          const std::string& key, Atom what) {
  if (!relays) return kj::READY_NOW;
  auto it = relays->ends.find(key);
  if (it == relays->ends.end()) return kj::READY_NOW;
  return ask<bool>(bridge, it->second, what).then([relays](caf::expected<bool>) {});
}

}  // namespace

kj::Promise<void> stdio_drained(const api_bridge& bridge, std::shared_ptr<stdio_relays> relays,
                                const std::string& key) {
  return ask_end(bridge, std::move(relays), key, relay_drained_atom::value);
}

kj::Promise<void> stdio_input_done(const api_bridge& bridge, std::shared_ptr<stdio_relays> relays,
                                   const std::string& key) {
  return ask_end(bridge, std::move(relays), key, relay_input_done_atom::value);
}

}  // namespace berth
