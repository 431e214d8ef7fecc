// A node's actors on the network: berthd publishes them with mutual TLS
// (CAF's middleman and OpenSSL module), `berth --actor` drives them with
// actor messages, and peers that should not get in do not.
#include <dirent.h>
#include <unistd.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "actors/daemon/berth.hpp"
#include "actors/errors.hpp"
#include "actors/node/node_endpoint.hpp"
#include "berth_runner.hpp"
#include "cluster_fixture.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/test_certificates.hpp"

using namespace berth::test;

namespace {

// One TLS-publishing berthd for the program.
struct tls_node {
  std::uint16_t port = free_port();
  std::string actor = "127.0.0.1:" + std::to_string(port);
  berthd_process d{berthd_process::options{node_flags("node-a", actor)}};
};

tls_node& node() {
  static tls_node n;
  return n;
}

// `berth --actor NODE --tls-* args…` with `who`'s certificate.
berth_result over_actors(std::vector<std::string> args, const certificate& who,
                         const std::string& ca) {
  std::vector<std::string> full = {"--actor",   node().actor, "--tls-cert", who.cert,
                                   "--tls-key", who.key,      "--tls-ca",   ca};
  full.insert(full.end(), args.begin(), args.end());
  return run_berth(berth_call{full, ""});
}

berth_result as_client(std::vector<std::string> args) {
  return over_actors(std::move(args), certs().client, certs().ca.cert());
}

berth_result over_socket(std::vector<std::string> args) {
  return run_berth_at(node().d.address(), std::move(args));
}

int gateways_running() {
  return std::system("pgrep -x berth-actor-gat >/dev/null") == 0 ? 1 : 0;
}

int gateway_dirs() {
  int n = 0;
  if (DIR* d = ::opendir("/tmp")) {
    while (auto* e = ::readdir(d))
      if (std::string(e->d_name).rfind("berth-actor-", 0) == 0) ++n;
    ::closedir(d);
  }
  return n;
}

// berthd's exit code and stderr when it refuses its flags.
std::pair<int, std::string> berthd_refuses(const std::vector<std::string>& flags) {
  temp_dir dir{"berthd-refuses"};
  std::string cmd =
      berthd_process::berthd_binary() + " --root " + (dir / "root") + " --state " + (dir / "state");
  for (auto& f : flags) cmd += " '" + f + "'";
  return run_program(cmd);
}

}  // namespace

TEST_CASE("berth --actor runs the seed's verbs as actor messages, as over the socket",
          "[cluster][actors]") {
  auto id = "actors-" + std::to_string(::getpid());
  int dirs_before = gateway_dirs();
  auto created = as_client(
      {"c", "create", "--rootfs", node().d.rootfs(), "local/busybox:latest", id, "sleep", "300"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);

  auto started = as_client({"t", "start", "-d", id});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  // Listing through the node's actors and through its socket: the same table.
  auto tasks_actors = as_client({"t", "ls"});
  auto tasks_socket = over_socket({"t", "ls"});
  REQUIRE(tasks_actors.exit_code == 0);
  CHECK(tasks_actors.out == tasks_socket.out);
  CHECK(tasks_actors.out.find(id) != std::string::npos);
  CHECK(tasks_actors.out.find("RUNNING") != std::string::npos);
  auto containers_actors = as_client({"c", "ls"});
  CHECK(containers_actors.out == over_socket({"c", "ls"}).out);

  // An error has the same words and exit code either way.
  auto missing_actors = as_client({"c", "info", "no-such-container"});
  auto missing_socket = over_socket({"c", "info", "no-such-container"});
  CHECK(missing_actors.exit_code == missing_socket.exit_code);
  CHECK(missing_actors.exit_code != 0);
  CHECK(missing_actors.err == missing_socket.err);

  // A task's log, read on the node for the actor client.
  auto talker = id + "-log";
  REQUIRE(as_client({"c", "create", "--rootfs", node().d.rootfs(), "local/busybox:latest", talker,
                     "echo", "logged on the node"})
              .exit_code == 0);
  REQUIRE(as_client({"t", "start", "-d", talker}).exit_code == 0);
  REQUIRE(as_client({"t", "wait", talker}).exit_code == 0);
  auto logs = as_client({"t", "logs", talker});
  INFO(logs.err);
  CHECK(logs.out == "logged on the node\n");
  CHECK(logs.out == over_socket({"t", "logs", talker}).out);
  CHECK(as_client({"t", "rm", talker}).exit_code == 0);
  CHECK(as_client({"c", "rm", talker}).exit_code == 0);

  REQUIRE(as_client({"t", "kill", "-s", "SIGKILL", id}).exit_code == 0);
  auto waited = as_client({"t", "wait", id});
  CHECK(waited.exit_code == 0);
  CHECK(waited.out == "137\n");
  auto removed = as_client({"t", "rm", id});
  INFO(removed.err);
  CHECK(removed.exit_code == 0);
  CHECK(as_client({"c", "rm", id}).exit_code == 0);
  CHECK(over_socket({"c", "ls", "-q"}).out.find(id) == std::string::npos);

  // Each CLI's gateway ended with it and left no socket directory.
  CHECK(gateways_running() == 0);
  CHECK(gateway_dirs() == dirs_before);
}

TEST_CASE("a client whose certificate another CA signed is refused before any call",
          "[cluster][actors][tls]") {
  auto id = "stranger-" + std::to_string(::getpid());
  // It trusts our CA (so it would accept the node), but the node does not
  // trust its certificate.
  auto refused = over_actors(
      {"c", "create", "--rootfs", node().d.rootfs(), "local/busybox:latest", id, "true"},
      certs().stranger, certs().ca.cert());
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("berth: connect to node at " + node().actor) != std::string::npos);
  CHECK(refused.err.find("handshake") != std::string::npos);

  // A client that trusts another CA refuses the node's certificate itself.
  auto distrust = over_actors({"c", "ls"}, certs().client, certs().other_ca.cert());
  CHECK(distrust.exit_code == 1);
  CHECK(distrust.err.find("handshake") != std::string::npos);

  // Plain actor messages to a TLS endpoint get nowhere either.
  auto plain = run_berth(berth_call{{"--actor", node().actor, "--insecure-actors", "c", "ls"}, ""});
  CHECK(plain.exit_code == 1);
  CHECK(plain.err.find("connect to node at") != std::string::npos);

  // Nothing reached the registry, and the node serves the next client.
  CHECK(over_socket({"c", "ls", "-q"}).out.find(id) == std::string::npos);
  CHECK(as_client({"c", "ls"}).exit_code == 0);
  CHECK(gateways_running() == 0);
}

TEST_CASE("a peer speaking another message set is refused at connection", "[cluster][actors]") {
  berth::actor_endpoint ep = berth::parse_actor_address(node().actor, "--actor");
  ep.tls = {certs().client.cert, certs().client.key, certs().ca.cert()};
  ep.message_set = "berth-actors/0";  // an older berth
  caf::actor_system_config cfg;
  berth::add_berth_types(cfg);
  berth::prepare_actor_network(cfg, ep);
  caf::actor_system sys{cfg};
  auto info = berth::connect_node(sys, ep, std::chrono::seconds(10));
  REQUIRE_FALSE(info);
  auto why = berth::error_message(info.error());
  INFO(why);
  CHECK(berth::error_code(info.error()) == berth::errc::failed_precondition);
  CHECK(why.find("another berth message set") != std::string::npos);

  // The same system with the right set is let in, and learns the node's name.
  berth::actor_endpoint same = ep;
  same.message_set = berth::kActorMessageSet;
  caf::actor_system_config cfg2;
  berth::add_berth_types(cfg2);
  berth::prepare_actor_network(cfg2, same);
  caf::actor_system sys2{cfg2};
  auto ok = berth::connect_node(sys2, same, std::chrono::seconds(10));
  INFO((ok ? std::string() : berth::error_message(ok.error())));
  REQUIRE(ok);
  CHECK(ok->info.name == "node-a");
  CHECK(ok->info.registry);
}

TEST_CASE("plain actor messages only on loopback, and only when asked for", "[cluster][actors]") {
  auto off_loopback = berthd_refuses({"--actor-address", "0.0.0.0:7700", "--insecure-actors"});
  CHECK(off_loopback.first == 1);
  CHECK(off_loopback.second.find("--insecure-actors is allowed only on a loopback address") !=
        std::string::npos);

  auto no_tls = berthd_refuses({"--actor-address", "127.0.0.1:7700"});
  CHECK(no_tls.first == 1);
  CHECK(no_tls.second.find("TLS needs --tls-cert, --tls-key and --tls-ca") != std::string::npos);

  auto wrong_key =
      berthd_refuses({"--actor-address", "127.0.0.1:7700", "--tls-cert", certs().node.cert,
                      "--tls-key", certs().client.key, "--tls-ca", certs().ca.cert()});
  CHECK(wrong_key.first == 1);
  CHECK(wrong_key.second.find("it does not belong to the certificate " + certs().node.cert) !=
        std::string::npos);

  auto bad_address = berthd_refuses({"--actor-address", "127.0.0.1", "--insecure-actors"});
  CHECK(bad_address.first == 1);
  CHECK(bad_address.second.find("invalid --actor-address \"127.0.0.1\": no port") !=
        std::string::npos);

  // On loopback, with the flag, a node publishes plain BASP and is driven.
  auto port = free_port();
  auto actor = "127.0.0.1:" + std::to_string(port);
  berthd_process plain{
      berthd_process::options{{"--node", "plain", "--actor-address", actor, "--insecure-actors"}}};
  auto listed = run_berth(berth_call{{"--actor", actor, "--insecure-actors", "c", "ls"}, ""});
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listed.out == run_berth_at(plain.address(), {"c", "ls"}).out);
}
