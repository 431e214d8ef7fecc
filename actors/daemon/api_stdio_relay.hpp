// The API's side of stdio relayed from another node (stdio_relay.hpp): a
// client that reached a task on node b through this node names FIFOs on this
// host. Its calls that carry stdio (createTask, exec, attach) get a relay
// here, and the paths of FIFOs on b go to b's task instead; wait answers once
// the output reached the client, and closeIo once its stdin did.
#pragma once

#include <kj/async.h>
#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include <map>
#include <string>

#include "actors/daemon/api_bridge.hpp"
#include "actors/runtime/shim_messages.hpp"

namespace berth {

// The relays one client opened through one node-scoped Berth, by
// "ns/id/exec-id". KJ thread only.
struct stdio_relays {
  caf::actor node;                         // the task's node actor (a node_actor)
  std::map<std::string, caf::actor> ends;  // this node's end of each

  // The client is gone: a relay still waiting for its task's shim (a create
  // that never ran) ends with it; the others end by themselves.
  ~stdio_relays();

  static std::string key(const std::string& ns, const std::string& id, const std::string& exec) {
    return ns + "/" + id + "/" + exec;
  }
};

// True when `stdio` names any path (else there is nothing to relay).
bool names_paths(const stdio_paths& stdio);

// Opens the relay for `client` (paths already checked with the client's
// credentials) and answers the paths on the task's node.
kj::Promise<caf::expected<stdio_paths>> open_stdio_relay(const api_bridge& bridge,
                                                         std::shared_ptr<stdio_relays> relays,
                                                         std::string key, stdio_paths client);

// The call that was to use the relay failed: it ends.
void drop_stdio_relay(stdio_relays& relays, const std::string& key);

// Resolves once the relay under `key` delivered stdout and stderr to the
// client (at once when there is none, at most a few seconds later).
kj::Promise<void> stdio_drained(const api_bridge& bridge, std::shared_ptr<stdio_relays> relays,
                                const std::string& key);

// Resolves once the client's stdin, read to its end, was written and closed
// on the task's node (at once when there is no relay with stdin).
kj::Promise<void> stdio_input_done(const api_bridge& bridge, std::shared_ptr<stdio_relays> relays,
                                   const std::string& key);

}  // namespace berth
