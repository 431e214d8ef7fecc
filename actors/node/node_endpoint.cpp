#include "actors/node/node_endpoint.hpp"

#include <arpa/inet.h>
#include <unistd.h>
#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/io/remote_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "actors/errors.hpp"

namespace berth {
namespace {

std::optional<std::string> check_tls(const tls_files& t) {
  for (auto [file, flag] : {std::pair{&t.cert, "--tls-cert"}, std::pair{&t.key, "--tls-key"},
                            std::pair{&t.ca, "--tls-ca"}})
    if (file->empty())
      return std::string("TLS needs --tls-cert, --tls-key and --tls-ca; ") + flag +
             " is missing (or --insecure-actors on a loopback address)";
  try {
    tls_identity::load(t, true);
  } catch (const std::exception& e) {
    return e.what();
  }
  return std::nullopt;
}

// What a failed connection means to a person, and the berth code for it.
caf::error connect_error(caf::actor_system& sys, const actor_endpoint& ep, const caf::error& err) {
  auto where = "node at " + ep.describe();
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::incompatible_application_ids:
      case caf::sec::unexpected_actor_messaging_interface:
        return make_error(errc::failed_precondition,
                          where + " speaks another berth message set (this side: " +
                              ep.message_set + "); run the same berth version on both");
      case caf::sec::disconnect_during_handshake:
        return make_error(errc::unavailable,
                          where + " ended the connection during the handshake" +
                              (ep.insecure ? std::string{}
                                           : ": a TLS peer refused the other's certificate "
                                             "(are both signed by the CA the other trusts?)"));
      case caf::sec::cannot_connect_to_node:
        return make_error(errc::unavailable, "cannot connect to " + where +
                                                 ": is a berthd publishing its actors there "
                                                 "(--actor-address)?");
      case caf::sec::request_timeout:
        return make_error(errc::deadline_exceeded, where + " did not answer in time");
      case caf::sec::incompatible_versions:
        return make_error(errc::failed_precondition, where + " runs another CAF version");
      default:
        break;
    }
  }
  if (err.category() == error_category)
    return make_error(error_code(err), where + ": " + error_message(err));
  return make_error(errc::unavailable, where + ": " + sys.render(err));
}

}  // namespace

std::string host_port(const actor_endpoint& ep) {
  auto h = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return h + ":" + std::to_string(ep.port);
}

std::string actor_endpoint::describe() const {
  return std::string(insecure ? "tcp://" : "tls://") + host_port(*this);
}

actor_endpoint parse_actor_address(const std::string& text, const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("invalid " + flag + " \"" + text + "\": " + why +
                                 " (HOST:PORT or [IPV6]:PORT)");
  };
  actor_endpoint ep;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw bad("no ]:PORT after the IPv6 address");
    ep.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    ep.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (ep.host.find(':') != std::string::npos) throw bad("an IPv6 address needs brackets");
  }
  if (ep.host.empty()) throw bad("no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad("the port is not a number");
  auto n = std::stoul(port);
  if (n > 65535) throw bad("the port is past 65535");
  ep.port = static_cast<std::uint16_t>(n);
  return ep;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::optional<std::string> check_endpoint(const actor_endpoint& ep) {
  if (ep.insecure) {
    if (!ep.tls.cert.empty() || !ep.tls.key.empty() || !ep.tls.ca.empty())
      return std::string("--insecure-actors and --tls-cert/--tls-key/--tls-ca exclude each other");
    if (!is_loopback(ep.host))
      return "--insecure-actors is allowed only on a loopback address, not " + ep.host +
             ": use --tls-cert, --tls-key and --tls-ca";
    return std::nullopt;
  }
  return check_tls(ep.tls);
}

void prepare_actor_network(caf::actor_system_config& cfg, const actor_endpoint& ep) {
  cfg.load<caf::io::middleman>();
  if (!ep.insecure) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = ep.tls.cert;
    cfg.openssl_key = ep.tls.key;
    cfg.openssl_cafile = ep.tls.ca;
  }
  cfg.set("middleman.app-identifiers", std::vector<std::string>{ep.message_set});
}

std::uint16_t publish_node(const node_actor& node, const actor_endpoint& ep) {
  auto bound = ep.insecure ? caf::io::publish(node, ep.port, ep.host.c_str(), true)
                           : caf::openssl::publish(node, ep.port, ep.host.c_str(), true);
  if (!bound)
    throw std::runtime_error("cannot publish the node's actors on " + ep.describe() + ": " +
                             node.home_system().render(bound.error()));
  return *bound;
}

caf::expected<connected_node> connect_node(caf::actor_system& sys, const actor_endpoint& ep,
                                           std::chrono::milliseconds timeout) {
  auto remote = ep.insecure ? caf::io::remote_actor<node_actor>(sys, ep.host, ep.port)
                            : caf::openssl::remote_actor<node_actor>(sys, ep.host, ep.port);
  if (!remote) return connect_error(sys, ep, remote.error());
  caf::scoped_actor self{sys};
  caf::expected<connected_node> out{caf::error{}};
  self->request(*remote, timeout, node_hello_atom::value, ep.message_set)
      .receive(
          [&](node_info& info) {
            out = connected_node{*remote, std::move(info)};
          },
          [&](caf::error& err) { out = connect_error(sys, ep, err); });
  return out;
}

}  // namespace berth
