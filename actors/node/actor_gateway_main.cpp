// berth-actor-gateway: how `berth --actor HOST:PORT` speaks actor messages.
// The CLI starts it with a pipe on stdin and stdout; it connects to the node
// published at HOST:PORT (CAF's middleman, TLS), then serves berth's API on a
// private unix socket with the node's registry, images and events actors as
// the actors behind every call: the same API server berthd runs, so each verb
// has the same output, exit codes and errors as over berthd's own socket.
// It answers one line on stdout ("ready" or "error CODE MESSAGE") and lives
// until the CLI closes its stdin.
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "actors/daemon/api_server.hpp"
#include "actors/daemon/berth.hpp"
#include "actors/errors.hpp"
#include "actors/node/node_endpoint.hpp"

namespace {

[[noreturn]] void answer_error(berth::errc code, const std::string& why) {
  std::cout << "error " << berth::to_string(code) << " " << why << std::endl;
  std::_Exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-actor-gateway: berth's API served from a node's actors (berth --actor)"};
  std::string address, socket_path;
  berth::tls_files tls;
  bool insecure = false;
  int timeout_ms = 10000;
  app.add_option("--actor", address, "the node's actor address, HOST:PORT")->required();
  app.add_option("--socket", socket_path, "the unix socket to serve the API on")->required();
  app.add_option("--tls-cert", tls.cert, "this client's certificate (PEM)");
  app.add_option("--tls-key", tls.key, "its private key (PEM)");
  app.add_option("--tls-ca", tls.ca, "the CA the node's certificate must be signed by");
  app.add_flag("--insecure-actors", insecure, "plain actor messages (loopback only)");
  app.add_option("--connect-timeout-ms", timeout_ms, "how long the node may take to answer");
  CLI11_PARSE(app, argc, argv);

  berth::actor_endpoint ep;
  try {
    ep = berth::parse_actor_address(address, "--actor");
  } catch (const std::invalid_argument& e) {
    answer_error(berth::errc::invalid_argument, e.what());
  }
  ep.tls = tls;
  ep.insecure = insecure;
  if (auto why = berth::check_endpoint(ep)) answer_error(berth::errc::invalid_argument, *why);

  ::signal(SIGPIPE, SIG_IGN);
  caf::actor_system_config cfg;
  berth::add_berth_types(cfg);
  berth::prepare_actor_network(cfg, ep);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};

  auto node = berth::connect_node(sys, ep, std::chrono::milliseconds(timeout_ms));
  if (!node) answer_error(berth::error_code(node.error()), berth::error_message(node.error()));

  auto handles = std::make_shared<berth::berth_handles>();
  berth::berth_actors actors;
  actors.registry = node->info.registry;
  actors.images = node->info.images;
  actors.events = node->info.events;
  handles->set(std::move(actors));
  auto io = std::make_shared<berth::io_thread>();
  try {
    berth::api_server_config api;
    api.socket_path = socket_path;
    api.state_dir = "";     // task logs are files on the node: refused with a reason
    api.node = node->node;  // nodes ls and --node go through the node's membership
    berth::start_api_server(io, sys, handles, api);
  } catch (const std::exception& e) {
    answer_error(berth::errc::internal, e.what());
  }
  std::cout << "ready " << node->info.name << std::endl;

  // Until the CLI is done (it closes the pipe, or dies).
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  ::unlink(socket_path.c_str());
  // The proxies and the middleman need no orderly goodbye: the node sees the
  // connection close either way.
  std::cout.flush();
  std::_Exit(0);
}
