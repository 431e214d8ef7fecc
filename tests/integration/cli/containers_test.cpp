// `berth c …` and namespaces, version and events against a real berthd.
#include <catch2/catch.hpp>

#include <csignal>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

using namespace berth::test;
using Catch::Contains;
using Catch::StartsWith;

TEST_CASE("c create, ls, ls -q, ls --format json, info, label, rm", "[cli][containers]") {
  auto id = unique_id("ctr");
  auto args = create_args(id, {"sh", "-c", "echo hi"});
  args.insert(args.begin() + 2, {"--label", "tier=front", "--env", "MODE=dev"});
  auto created = b(args);
  REQUIRE(created.err == "");
  REQUIRE(created.exit_code == 0);

  auto ls = b({"c", "ls"});
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, StartsWith("CONTAINER"));
  CHECK_THAT(ls.out, Contains("IMAGE"));
  CHECK_THAT(ls.out, Contains("RUNTIME"));
  CHECK(has_row(ls.out, id, kImage));

  auto quiet = b({"c", "ls", "-q"});
  CHECK_THAT(quiet.out, Contains(id + "\n"));
  CHECK(quiet.out.find("CONTAINER") == std::string::npos);

  auto json = b({"c", "ls", "--format", "json"});
  REQUIRE(json.exit_code == 0);
  auto list = nlohmann::json::parse(json.out);
  bool found = false;
  for (const auto& c : list) found |= c["id"] == id && c["labels"]["tier"] == "front";
  CHECK(found);

  auto info = b({"c", "info", id});
  REQUIRE(info.exit_code == 0);
  auto doc = nlohmann::json::parse(info.out);
  CHECK(doc["id"] == id);
  CHECK(doc["image"] == kImage);
  CHECK(doc["spec"]["process"]["args"] == nlohmann::json({"sh", "-c", "echo hi"}));
  bool has_env = false;
  for (const auto& e : doc["spec"]["process"]["env"]) has_env |= e == "MODE=dev";
  CHECK(has_env);

  CHECK(b({"c", "label", id, "owner=ops", "tier="}).exit_code == 0);
  auto labels = b({"c", "label", id});
  CHECK(labels.out == "owner=ops\n");

  auto rm = b({"c", "rm", id});
  CHECK(rm.err == "");
  CHECK(rm.exit_code == 0);
  CHECK_FALSE(has_row(b({"c", "ls"}).out, id, kImage));
}

TEST_CASE("c verbs on an unknown id say so", "[cli][containers]") {
  auto info = b({"c", "info", "nosuch"});
  CHECK(info.exit_code == 1);
  CHECK_THAT(info.err, StartsWith("berth: container nosuch: "));
  CHECK_THAT(info.err, Contains("not found"));

  auto rm = b({"c", "rm", "nosuch"});
  CHECK(rm.exit_code == 1);
  CHECK_THAT(rm.err, StartsWith("berth: delete container nosuch: "));
  CHECK_THAT(rm.err, Contains("not found"));

  auto label = b({"c", "label", "nosuch", "a=b"});
  CHECK(label.exit_code == 1);
  CHECK_THAT(label.err, Contains("not found"));
}

TEST_CASE("c create: a missing image, a duplicate id, a bad id", "[cli][containers]") {
  auto missing = b({"c", "create", "docker.io/library/nosuch:latest", unique_id("noimg")});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, StartsWith("berth: create container "));
  CHECK_THAT(missing.err, Contains("docker.io/library/nosuch:latest"));
  CHECK_THAT(missing.err, Contains("not found"));

  auto id = unique_id("dup");
  REQUIRE(b(create_args(id, {"true"})).exit_code == 0);
  auto again = b(create_args(id, {"true"}));
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("already exists"));
  CHECK(b({"c", "rm", id}).exit_code == 0);

  auto bad = b(create_args("bad/id", {"true"}));
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, StartsWith("berth: create container bad/id: "));
}

TEST_CASE("c rm goes on past a failure and exits 1", "[cli][containers]") {
  auto id = unique_id("rm");
  REQUIRE(b(create_args(id, {"true"})).exit_code == 0);
  auto r = b({"c", "rm", "nosuch", id});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("nosuch"));
  CHECK_FALSE(has_row(b({"c", "ls"}).out, id, kImage));
}

TEST_CASE("namespaces: create, ls, objects kept apart, rm", "[cli][namespaces]") {
  auto ns = unique_id("ns");
  REQUIRE(b({"ns", "create", ns, "--label", "team=core"}).exit_code == 0);
  auto ls = b({"ns", "ls"});
  CHECK_THAT(ls.out, StartsWith("NAME"));
  CHECK(has_row(ls.out, ns, "team=core"));
  CHECK_THAT(b({"ns", "ls", "-q"}).out, Contains(ns + "\n"));
  auto json = nlohmann::json::parse(b({"ns", "ls", "--format", "json"}).out);
  CHECK(json.is_array());

  auto id = unique_id("nsc");
  auto args = create_args(id, {"true"});
  args.insert(args.begin(), {"-n", ns});
  REQUIRE(b(args).exit_code == 0);
  CHECK_THAT(b({"-n", ns, "c", "ls", "-q"}).out, Contains(id));
  CHECK(b({"c", "ls", "-q"}).out.find(id) == std::string::npos);

  auto busy = b({"ns", "rm", ns});
  CHECK(busy.exit_code == 1);
  CHECK_THAT(busy.err, StartsWith("berth: delete namespace " + ns + ": "));

  CHECK(b({"-n", ns, "c", "rm", id}).exit_code == 0);
  auto rm = b({"ns", "rm", ns});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == ns + "\n");
  CHECK_FALSE(has_row(b({"ns", "ls"}).out, ns, ""));

  auto again = b({"ns", "rm", ns});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("not found"));
  CHECK(b({"ns", "create", "bad/name"}).exit_code == 1);
}

TEST_CASE("version prints client and server", "[cli][version]") {
  auto r = b({"version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("Client:"));
  CHECK_THAT(r.out, Contains("Server:"));
  CHECK_THAT(r.out, Contains("Revision:"));
}

TEST_CASE("events stream until interrupted", "[cli][events]") {
  background_berth events(daemon().address(), {"events", "--filter", "topic=/containers/"});
  REQUIRE(subscribed(events));
  auto id = unique_id("ev");
  REQUIRE(b(create_args(id, {"true"})).exit_code == 0);
  REQUIRE(b({"c", "rm", id}).exit_code == 0);
  CHECK(events.read_until("/containers/delete {\"id\":\"" + id + "\""));
  CHECK_THAT(events.out(), Contains("default /containers/create {\"id\":\"" + id + "\""));
  CHECK(events.out().find("/tasks/") == std::string::npos);
  events.signal(SIGINT);
  CHECK(events.wait() == 0);
}

TEST_CASE("events --format json: one object a line", "[cli][events]") {
  background_berth events(daemon().address(), {"events", "--format", "json"});
  REQUIRE(subscribed(events));
  auto id = unique_id("evj");
  REQUIRE(b(create_args(id, {"true"})).exit_code == 0);
  const std::string ours = "\"id\":\"" + id + "\"";
  REQUIRE(events.read_until(ours));
  // The line about our container, after the probe's.
  auto at = events.out().rfind('\n', events.out().find(ours));
  at = at == std::string::npos ? 0 : at + 1;
  auto line = events.out().substr(at, events.out().find('\n', at) - at);
  INFO(line);
  auto doc = nlohmann::json::parse(line);
  CHECK(doc["topic"] == "/containers/create");
  CHECK(doc["event"]["id"] == id);
  CHECK(doc["namespace"] == "default");
  events.signal(SIGTERM);
  CHECK(events.wait() == 0);
  b({"c", "rm", id});
}

TEST_CASE("a bad events filter is a usage error", "[cli][events]") {
  auto r = b({"events", "--filter", "color=red"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("expected topic=PREFIX or namespace=NAME"));
}
