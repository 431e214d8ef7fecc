// The public API (schema/api.capnp's Berth interface) served on a unix
// socket, on the io_thread. Every call becomes a typed message to the
// registry, a task or the events actor (api_bridge.hpp), so no call blocks
// the KJ thread and a slow task delays only its own callers.
//
// The socket is created with mode 0660 (owned by root, group `group` when
// given) under a temporary name and renamed into place once it listens, so
// its appearance means berthd is ready. Each connecting peer is checked with
// SO_PEERCRED: root, berthd's own user, and members of `group` get in.
//
// With `tls_address`, the same API is also served on TCP with mutual TLS:
// a client gets in only with a certificate signed by the configured CA,
// checked in the handshake before any message is read. Such a client is a
// remote one (api_peer::remote): it may name no host path.
#pragma once

#include <sys/types.h>

#include <caf/actor_system.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/daemon/berth_handles.hpp"
#include "actors/daemon/events.hpp"
#include "actors/daemon/node_messages.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/runtime/io_thread.hpp"

namespace berth {

class tls_identity;  // schema/tls_endpoint.hpp

struct api_server_config {
  std::string socket_path;        // e.g. /run/berth/berth.sock
  std::string state_dir;          // where task logs are (<state>/<ns>/<id>/task.log); "": elsewhere
  std::optional<gid_t> group;     // members may connect besides root
  std::string version = "0.1.0";  // what `version` answers
  std::string tls_address;        // tls://HOST:PORT also served, or "" for none
  std::shared_ptr<const tls_identity> tls;  // its certificate, key and CA
  // This berthd's node actor when it publishes its actors (listNodes,
  // atNode); null otherwise.
  node_actor node;
};

// Binds and starts accepting; returns once the socket (and the TLS endpoint)
// are in place. Throws std::runtime_error("cannot serve the API on
// <address>: <why>").
void start_api_server(std::shared_ptr<io_thread> io, caf::actor_system& sys,
                      std::shared_ptr<const berth_handles> actors, api_server_config cfg);

}  // namespace berth
