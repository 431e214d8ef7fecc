// Where and how a node's actors are reached over the network: CAF's
// middleman (BASP over TCP), with CAF's OpenSSL module for mutual TLS. Plain
// BASP is allowed only on a loopback address and only when asked for
// (--insecure-actors): anyone who reaches the port commands the node.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "actors/daemon/node_messages.hpp"
#include "schema/tls_endpoint.hpp"

namespace berth {

struct actor_endpoint {
  std::string host;
  std::uint16_t port = 0;
  tls_files tls;                               // the same files as the API's TLS endpoint (--tls-*)
  bool insecure = false;                       // plain BASP: loopback only
  std::string message_set = kActorMessageSet;  // a test plays an older peer with another
  std::string describe() const;                // "tls://HOST:PORT" or "tcp://HOST:PORT"
};

// "HOST:PORT" or "[V6]:PORT". Throws std::invalid_argument naming `flag`.
actor_endpoint parse_actor_address(const std::string& text, const std::string& flag);

bool is_loopback(const std::string& host);

// Why this endpoint may not be used, or nothing: TLS needs all three files,
// each one checked as the API's TLS endpoint checks them (tls_identity);
// insecure needs a loopback host; one of the two is required.
std::optional<std::string> check_endpoint(const actor_endpoint& ep);

// "HOST:PORT" as peers write it (IPv6 in brackets).
std::string host_port(const actor_endpoint& ep);

// Loads CAF's middleman (and its OpenSSL manager unless insecure) into cfg,
// with the TLS files and the message set as CAF's application identifier.
void prepare_actor_network(caf::actor_system_config& cfg, const actor_endpoint& ep);

// Publishes the node at ep; returns the bound port (ep.port 0: any).
// Throws std::runtime_error("cannot publish the node on ...: why").
std::uint16_t publish_node(const node_actor& node, const actor_endpoint& ep);

// Connects to the node at ep and says hello. The error is a berth error
// (actors/errors.hpp) that names the endpoint and why: unavailable when it
// cannot be reached or the TLS handshake fails, failed_precondition when it
// speaks another message set.
struct connected_node {
  node_actor node;  // its node actor (lookup and list go through it)
  node_info info;   // what its hello answered
};
caf::expected<connected_node> connect_node(caf::actor_system& sys, const actor_endpoint& ep,
                                           std::chrono::milliseconds timeout);

}  // namespace berth
