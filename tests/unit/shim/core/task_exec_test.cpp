// shim/core's task over a fake host: an exec process from added to deleted
// (the process the runtime gets, its pid, its signal, its exit), what is
// refused on the way, and init's exit published only after every exec's.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/unit/shim/core/task_fixture.hpp"

using berth::shim::status;
using berth::test::exited_with;
using berth::test::kFakePid;
using berth::test::task_fixture;
using berth::wire::ErrorCode;

namespace {

constexpr pid_t kExecPid = kFakePid + 1;

// Adds exec `id` and starts it as pid kExecPid; the test fails unless both succeed.
void start_exec(task_fixture& f, const std::string& id) {
  REQUIRE_FALSE(f.exec(id, R"({"args":["sh"]})"));
  f.runtime.next_pid = kExecPid;
  auto err = f.start(id);
  INFO((err ? err->message : std::string()));
  REQUIRE_FALSE(err);
}

}  // namespace

TEST_CASE("an exec's life: added, started by the runtime, signalled, exited, deleted",
          "[unit][shim][task][exec]") {
  task_fixture f;
  f.running();
  REQUIRE_FALSE(f.exec("e1", R"({"args":["ls","-l"],"env":["X=1"]})"));
  CHECK(f.state("e1").st == status::created);
  CHECK(f.state("e1").pid == 0);

  f.runtime.next_pid = kExecPid;
  pid_t pid = 0;
  REQUIRE_FALSE(f.start("e1", &pid));
  CHECK(pid == kExecPid);
  CHECK(f.state("e1").st == status::running);
  auto execs = f.runtime.calls_of("exec");
  REQUIRE(execs.size() == 1);
  const std::string spec = f.bundle + "/exec-e1.json";
  CHECK(execs[0].args == std::vector<std::string>{"web", spec, f.bundle + "/exec-e1.pid", ""});
  // The runtime got the container's process with what the exec overrides.
  auto proc = nlohmann::json::parse(f.runtime.exec_process_json);
  CHECK(proc["args"] == nlohmann::json::array({"ls", "-l"}));
  CHECK(proc["env"] == nlohmann::json::array({"X=1"}));
  CHECK(proc["cwd"] == "/");
  CHECK(proc["terminal"] == false);
  // Its files are gone once the runtime is done with them.
  CHECK(access(spec.c_str(), F_OK) != 0);
  CHECK(access((f.bundle + "/exec-e1.pid").c_str(), F_OK) != 0);

  // An exec is signalled directly, not through the runtime.
  REQUIRE_FALSE(f.kill("e1", SIGTERM));
  REQUIRE(f.signals.sent.size() == 1);
  CHECK(f.signals.sent[0] == std::make_pair(kExecPid, SIGTERM));
  CHECK(f.runtime.calls_of("kill").empty());

  f.task.reaped(kExecPid, exited_with(2));
  CHECK(f.state("e1").st == status::stopped);
  berth::shim::exit_record waited;
  REQUIRE_FALSE(f.await(f.task.wait("e1", waited)));
  CHECK(waited.code == 2);
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));
  auto exit = f.of_topic("/tasks/exit")[0];
  CHECK(exit.exec_id == "e1");
  CHECK(exit.pid == static_cast<uint32_t>(kExecPid));
  CHECK(exit.code == 2);
  // init is untouched by its exec's exit.
  CHECK(f.state().st == status::running);

  berth::shim::exit_record status;
  REQUIRE_FALSE(f.remove("e1", &status));
  CHECK(status.code == 2);
  berth::shim::process_view gone;
  auto err = f.task.state("e1", gone);
  REQUIRE(err);
  CHECK(err->code == ErrorCode::NOT_FOUND);
  CHECK(err->message == "exec e1 of task web not found");
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added",
                                               "/tasks/exec-started", "/tasks/exit"});
}

TEST_CASE("exec is refused with a reason before the runtime is asked", "[unit][shim][task][exec]") {
  SECTION("a task that is only created") {
    task_fixture f;
    REQUIRE_FALSE(f.create());
    auto err = f.exec("e1", R"({"args":["sh"]})");
    REQUIRE(err);
    CHECK(err->code == ErrorCode::FAILED_PRECONDITION);
    CHECK_THAT(err->message, Catch::Contains("created"));
  }
  SECTION("bad requests") {
    task_fixture f;
    f.running();
    auto empty = f.exec("e1", R"({"args":[]})");
    REQUIRE(empty);
    CHECK(empty->code == ErrorCode::INVALID_ARGUMENT);
    CHECK(empty->message == "invalid process for exec e1: args must not be empty");
    auto id = f.exec("../e1", R"({"args":["sh"]})");
    REQUIRE(id);
    CHECK(id->code == ErrorCode::INVALID_ARGUMENT);
    CHECK_THAT(id->message, Catch::Contains("exec id"));
    REQUIRE_FALSE(f.exec("e1", R"({"args":["sh"]})"));
    auto twice = f.exec("e1", R"({"args":["sh"]})");
    REQUIRE(twice);
    CHECK(twice->code == ErrorCode::ALREADY_EXISTS);
    CHECK(twice->message == "exec e1 of task web already exists");
  }
  SECTION("an exec added while init ran, started after init exited") {
    task_fixture f;
    f.running();
    REQUIRE_FALSE(f.exec("e1", R"({"args":["sh"]})"));
    f.task.reaped(kFakePid, exited_with(0));
    auto err = f.start("e1");
    REQUIRE(err);
    CHECK(err->code == ErrorCode::FAILED_PRECONDITION);
    CHECK(err->message == "cannot start exec e1 of task web: task is stopped");
  }
  CHECK(true);
}

TEST_CASE("a failed runtime exec passes the reason on and leaves the exec created",
          "[unit][shim][task][exec]") {
  task_fixture f;
  f.running();
  REQUIRE_FALSE(f.exec("e1", R"({"args":["nope"]})"));
  f.runtime.failures["exec"] = "runc exec failed: exec: \"nope\": executable file not found";
  auto err = f.start("e1");
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message ==
        "cannot start exec e1 of task web: runc exec failed: exec: \"nope\": "
        "executable file not found");
  CHECK(f.state("e1").st == status::created);
  f.settle();
  CHECK(f.count("/tasks/exec-started") == 0);
}

TEST_CASE("killing an exec says why it could not be signalled", "[unit][shim][task][exec]") {
  task_fixture f;
  f.running();
  REQUIRE_FALSE(f.exec("idle", R"({"args":["sh"]})"));
  auto unstarted = f.kill("idle", SIGTERM);
  REQUIRE(unstarted);
  CHECK(unstarted->code == ErrorCode::FAILED_PRECONDITION);
  CHECK(unstarted->message == "cannot kill exec idle of task web: it is created");
  CHECK(f.signals.sent.empty());

  start_exec(f, "e1");
  f.signals.answer = ESRCH;
  auto gone = f.kill("e1", SIGTERM);
  REQUIRE(gone);
  CHECK(gone->code == ErrorCode::NOT_FOUND);
  CHECK(gone->message == "cannot kill exec e1 of task web: process already finished");
  f.signals.answer = EPERM;
  auto refused = f.kill("e1", SIGTERM);
  REQUIRE(refused);
  CHECK(refused->code == ErrorCode::INTERNAL);
  CHECK(refused->message == "cannot kill exec e1 of task web: Operation not permitted");
}

TEST_CASE("init's exit is published after the exits of its execs", "[unit][shim][task][exec]") {
  task_fixture f;
  f.running();
  start_exec(f, "e1");
  // init dies first; its exec is still to be reaped.
  f.task.reaped(kFakePid, exited_with(0));
  f.settle();
  CHECK(f.count("/tasks/exit") == 0);
  f.task.reaped(kExecPid, exited_with(137));
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 2; }));
  auto exits = f.of_topic("/tasks/exit");
  CHECK(exits[0].exec_id == "e1");
  CHECK(exits[1].exec_id.empty());
  CHECK(exits[0].sequence < exits[1].sequence);
}
