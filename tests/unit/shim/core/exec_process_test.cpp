// exec_process alone: the process an exec runs is the container's own with
// only the fields a client may set laid over it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "shim/core/exec_process.hpp"

using berth::shim::exec_process;
using nlohmann::json;

namespace {

const json kContainer = json::parse(R"({
  "args": ["sleep", "1000"], "env": ["PATH=/bin"], "cwd": "/", "terminal": false,
  "user": {"uid": 0, "gid": 0},
  "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"],
                   "permitted": ["CAP_CHOWN", "CAP_KILL"]},
  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
  "noNewPrivileges": true, "apparmorProfile": "berth-default"
})");

const std::string kAllowed =
    " (a client sets only args, env, cwd, user, terminal, consoleSize, and capabilities within "
    "the container's bounding set)";

std::string refusal(const json& request) {
  try {
    exec_process(kContainer, request);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("exec_process: a client's fields over the container's process", "[unit][shim][exec]") {
  auto p = exec_process(kContainer, json::parse(R"({"args":["ls"],"env":["X=1"],"cwd":"/tmp",
      "user":{"uid":1000,"gid":1000},"capabilities":{"effective":["CAP_KILL"]}})"));
  CHECK(p["args"] == json::parse(R"(["ls"])"));
  CHECK(p["env"] == json::parse(R"(["X=1"])"));
  CHECK(p["cwd"] == "/tmp");
  CHECK(p["user"]["uid"] == 1000);
  CHECK(p["capabilities"] == json::parse(R"({"effective":["CAP_KILL"]})"));
  // What confines the container stays the container's.
  CHECK(p["noNewPrivileges"] == true);
  CHECK(p["apparmorProfile"] == "berth-default");
  CHECK(p["rlimits"] == kContainer["rlimits"]);

  // The container's own process sent back with new args (what `berth t exec` sends).
  auto same = kContainer;
  same["args"] = {"sh"};
  CHECK(exec_process(kContainer, same)["args"] == json::parse(R"(["sh"])"));
}

TEST_CASE("exec_process: what a client may not set is refused by name", "[unit][shim][exec]") {
  CHECK(refusal(json::parse(R"({"args":[]})")) == "args must not be empty");
  CHECK(refusal(json::parse(R"(["ls"])")) == "args must not be empty");
  CHECK(refusal(json::parse(R"({"args":["ls"],"mounts":[]})")) ==
        "\"mounts\" may not be set by a client" + kAllowed);
  CHECK(refusal(json::parse(R"({"args":["ls"],"namespaces":[]})")) ==
        "\"namespaces\" may not be set by a client" + kAllowed);
  CHECK(refusal(json::parse(R"({"args":["ls"],"noNewPrivileges":false})")) ==
        "\"noNewPrivileges\" may not differ from the container's" + kAllowed);
  CHECK(refusal(json::parse(R"({"args":["ls"],"apparmorProfile":"unconfined"})")) ==
        "\"apparmorProfile\" may not differ from the container's" + kAllowed);
  CHECK(refusal(json::parse(R"({"args":["ls"],"capabilities":{"ambient":["CAP_SYS_ADMIN"]}})")) ==
        "\"capabilities\" may not hold CAP_SYS_ADMIN (in \"ambient\"): it is outside the "
        "container's bounding set");
  CHECK(refusal(json::parse(R"({"args":["ls"],"capabilities":{"bounding":["CAP_NET_ADMIN"]}})")) ==
        "\"capabilities\" may not hold CAP_NET_ADMIN (in \"bounding\"): it is outside the "
        "container's bounding set");
  CHECK(refusal(json::parse(R"({"args":["ls"],"capabilities":{"extra":[]}})")) ==
        "\"capabilities\" has no set \"extra\"");
  CHECK(refusal(json::parse(R"({"args":["ls"],"capabilities":["CAP_KILL"]})")) ==
        "\"capabilities\" must be an object");
}
