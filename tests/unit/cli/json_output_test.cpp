// --format json and `c info`: keys, times, labels, and the spec embedded.
#include <capnp/message.h>

#include <catch2/catch.hpp>

#include "cli/json_output.hpp"

using namespace berth;
using namespace berth::cli;

TEST_CASE("a container as JSON embeds its spec and labels", "[cli][json]") {
  capnp::MallocMessageBuilder message;
  auto c = message.initRoot<wire::api::ContainerInfo>();
  c.setId("web");
  c.setImage("docker.io/library/busybox:latest");
  c.setRuntime("io.berth.runc.v1");
  c.setSpecJson(R"({"ociVersion":"1.0.2","process":{"args":["sh"]}})");
  auto labels = c.initLabels(1);
  labels[0].setKey("tier");
  labels[0].setValue("front");
  c.setCreatedAt(1700000000000000000);

  auto j = to_json(c.asReader());
  CHECK(j["id"] == "web");
  CHECK(j["image"] == "docker.io/library/busybox:latest");
  CHECK(j["runtime"] == "io.berth.runc.v1");
  CHECK(j["labels"]["tier"] == "front");
  CHECK(j["spec"]["process"]["args"][0] == "sh");
  CHECK(j["created_at"] == "2023-11-14T22:13:20Z");
  CHECK(j["runtime_options"].is_null());
}

TEST_CASE("a spec that is not JSON stays visible as text", "[cli][json]") {
  capnp::MallocMessageBuilder message;
  auto c = message.initRoot<wire::api::ContainerInfo>();
  c.setSpecJson("not json");
  CHECK(to_json(c.asReader())["spec"] == "not json");
}

TEST_CASE("tasks carry their status name, and exit status once stopped", "[cli][json]") {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<wire::api::ListTasksResponse>().initTasks(2);
  list[0].setId("web");
  list[0].setPid(42);
  list[0].setStatus(wire::TaskStatus::RUNNING);
  list[1].setId("job");
  list[1].setStatus(wire::TaskStatus::STOPPED);
  list[1].initExitStatus().setCode(7);

  auto j = to_json_array(list.asReader());
  REQUIRE(j.size() == 2);
  CHECK(j[0] == nlohmann::json{{"id", "web"}, {"pid", 42}, {"status", "RUNNING"}});
  CHECK(j[1]["status"] == "STOPPED");
  CHECK(j[1]["exit_status"]["code"] == 7);
}

TEST_CASE("event fields follow the event's kind", "[cli][json]") {
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<wire::Event>();
  e.setId("web");
  auto exit = e.initTaskExit();
  exit.setPid(42);
  exit.initStatus().setCode(137);
  exit.getStatus().setSignal(9);
  auto j = event_fields(e.asReader());
  CHECK(j["pid"] == 42);
  CHECK(j["exit_status"]["code"] == 137);
  CHECK(j["exit_status"]["signal"] == 9);

  e.setTaskPaused();
  CHECK(event_fields(e.asReader()) == nlohmann::json::object());
}
