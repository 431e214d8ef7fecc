// shim/core's task over a fake host: kill reaches the runtime with the
// signal asked for; an exit is recorded once and published once, in its
// place among the task's events; delete refuses a live task and cleans up
// after a stopped one. No root, no runc.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "tests/unit/shim/core/task_fixture.hpp"

using berth::shim::status;
using berth::test::exited_with;
using berth::test::kFakePid;
using berth::test::killed_by;
using berth::test::task_fixture;
using berth::wire::ErrorCode;

namespace {

const std::vector<berth::shim::mount_spec> kBind = {{"bind", "/snapshots/7/fs", {"rbind"}}};

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("kill hands the runtime the signal, for init or all its processes",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  REQUIRE_FALSE(f.kill("", SIGTERM));
  REQUIRE_FALSE(f.kill("", SIGKILL, true));
  auto kills = f.runtime.calls_of("kill");
  REQUIRE(kills.size() == 2);
  CHECK(kills[0].args == std::vector<std::string>{"web", "15", "one"});
  CHECK(kills[1].args == std::vector<std::string>{"web", "9", "all"});
  // init is signalled through the runtime, never directly.
  CHECK(f.signals.sent.empty());
}

TEST_CASE("kill refuses a signal out of range without asking the runtime", "[unit][shim][task]") {
  task_fixture f;
  f.running();
  for (int bad : {0, -1, 65}) {
    auto err = f.kill("", bad);
    REQUIRE(err);
    CHECK(err->code == ErrorCode::INVALID_ARGUMENT);
    CHECK(err->message == "invalid signal " + std::to_string(bad) + ": must be 1-64");
  }
  CHECK(f.runtime.calls_of("kill").empty());
}

TEST_CASE("a failed runtime kill passes the runtime's words on, naming the task",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  f.runtime.failures["kill"] = "runc kill failed: permission denied";
  auto err = f.kill("", SIGTERM);
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message == "cannot kill task web: runc kill failed: permission denied");
}

TEST_CASE("a kill that fails because init exited meanwhile says the process finished",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  f.runtime.held.insert("kill");
  f.runtime.failures["kill"] = "runc kill failed: container not running";
  auto kill = f.task.kill("", SIGKILL, false).eagerlyEvaluate(nullptr);
  f.task.reaped(kFakePid, killed_by(SIGKILL));
  REQUIRE(f.runtime.release("kill"));
  auto err = f.await(kj::mv(kill));
  REQUIRE(err);
  CHECK(err->code == ErrorCode::NOT_FOUND);
  CHECK(err->message == "cannot kill task web: process already finished");
}

TEST_CASE("the exit of init is recorded once and published once", "[unit][shim][task]") {
  task_fixture f;
  f.running();
  f.task.reaped(kFakePid, exited_with(3));

  auto v = f.state();
  CHECK(v.st == status::stopped);
  REQUIRE(v.exit);
  CHECK(v.exit->code == 3);
  CHECK(v.exit->signal == 0);
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));
  auto exit = f.of_topic("/tasks/exit")[0];
  CHECK(exit.exec_id.empty());
  CHECK(exit.pid == static_cast<uint32_t>(kFakePid));
  CHECK(exit.code == 3);
  // What `berth-shim delete` reports should this shim die now.
  CHECK(read_text(f.bundle + "/init.exit").rfind("3 0 ", 0) == 0);

  // The same pid reaped again (a reused pid, a repeat) changes nothing.
  f.task.reaped(kFakePid, exited_with(9));
  f.settle();
  CHECK(f.count("/tasks/exit") == 1);
  CHECK(f.state().exit->code == 3);
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"});

  // A waiter that comes after the exit gets it at once.
  berth::shim::exit_record waited;
  REQUIRE_FALSE(f.await(f.task.wait("", waited)));
  CHECK(waited.code == 3);
}

TEST_CASE("a waiter blocked on init is answered by its exit, as a shell reports a signal",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  berth::shim::exit_record waited;
  auto wait = f.task.wait("", waited).eagerlyEvaluate(nullptr);
  f.settle(20 * kj::MILLISECONDS);
  f.task.reaped(kFakePid, killed_by(SIGKILL));
  REQUIRE_FALSE(f.await(kj::mv(wait)));
  CHECK(waited.code == 128 + SIGKILL);
  CHECK(waited.signal == SIGKILL);
}

TEST_CASE("an init that exits while the runtime's start runs is published after the start",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create());
  f.runtime.held.insert("start");
  pid_t pid = 0;
  auto start = f.task.start("", pid).eagerlyEvaluate(nullptr);
  f.task.reaped(kFakePid, exited_with(0));
  f.settle();
  // Its exit is known, but held back: a subscriber must see start before exit.
  CHECK(f.count("/tasks/exit") == 0);
  REQUIRE(f.runtime.release("start"));
  REQUIRE_FALSE(f.await(kj::mv(start)));
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"});
  CHECK(f.state().st == status::stopped);
}

TEST_CASE("an exit reaped before the runtime's create returned is kept for its pid",
          "[unit][shim][task]") {
  task_fixture f;
  f.runtime.held.insert("create");
  pid_t pid = 0;
  auto create = f.task.create({}, {}, "", pid).eagerlyEvaluate(nullptr);
  // runc wrote the pid file and the process died before the shim read it.
  f.task.reaped(kFakePid, exited_with(127));
  REQUIRE(f.runtime.release("create"));
  REQUIRE_FALSE(f.await(kj::mv(create)));
  auto v = f.state();
  CHECK(v.st == status::stopped);
  REQUIRE(v.exit);
  CHECK(v.exit->code == 127);
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));
}

TEST_CASE("delete refuses a running task and leaves it, and its rootfs, as they were",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  REQUIRE_FALSE(f.start());
  auto err = f.remove("");
  REQUIRE(err);
  CHECK(err->code == ErrorCode::FAILED_PRECONDITION);
  CHECK(err->message == "cannot delete task web: it is running");
  CHECK(f.runtime.calls_of("delete").empty());
  CHECK(f.mounts.mounted_on(f.rootfs) == 1);
  CHECK(f.state().st == status::running);
}

TEST_CASE(
    "delete of a stopped task answers before the runtime's delete ends, which the shim "
    "outlives",
    "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  REQUIRE_FALSE(f.start());
  f.task.reaped(kFakePid, exited_with(4));
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));

  f.runtime.held.insert("delete");
  berth::shim::exit_record status;
  REQUIRE_FALSE(f.remove("", &status));  // answered while `runc delete` still runs
  CHECK(status.code == 4);
  auto deletes = f.runtime.calls_of("delete");
  REQUIRE(deletes.size() == 1);
  // A stopped container needs no --force (which costs runc 100 ms).
  CHECK(deletes[0].args == std::vector<std::string>{"web", "plain"});
  auto released = f.task.when_released().eagerlyEvaluate(nullptr);
  f.settle();
  CHECK_FALSE(released.poll(f.io.waitScope));
  REQUIRE(f.runtime.release("delete"));
  CHECK(released.poll(f.io.waitScope));
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  CHECK(access((f.bundle + "/init.pid").c_str(), F_OK) != 0);
  REQUIRE(f.run_until([&] { return f.count("/tasks/delete") == 1; }));
  CHECK(f.of_topic("/tasks/delete")[0].code == 4);
  CHECK(f.topics() ==
        std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"});
  // Deleted is final: a second delete names the state.
  auto again = f.remove("");
  REQUIRE(again);
  CHECK(again->code == ErrorCode::NOT_FOUND);
  CHECK(again->message == "cannot delete task web: it is deleted");
  CHECK(f.runtime.calls_of("delete").size() == 1);
}

TEST_CASE("delete of a task that never started forces the runtime and reports it killed",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  berth::shim::exit_record status;
  REQUIRE_FALSE(f.remove("", &status));
  CHECK(f.runtime.calls_of("delete")[0].args == std::vector<std::string>{"web", "force"});
  CHECK(status.code == 137);
  CHECK(status.reason == "deleted before it ran");
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  // Its exit goes out before the delete, once, even though no reaper saw it.
  REQUIRE(f.run_until([&] { return f.count("/tasks/delete") == 1; }));
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/exit", "/tasks/delete"});
  CHECK(f.of_topic("/tasks/exit")[0].code == 137);
}

TEST_CASE(
    "a failed runtime delete of a stopped task is retried with --force, off the caller's "
    "path",
    "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  REQUIRE_FALSE(f.start());
  f.task.reaped(kFakePid, exited_with(0));
  f.runtime.failures["delete"] = "runc delete failed: device or resource busy";
  REQUIRE_FALSE(f.remove(""));
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  f.await(f.task.when_released());
  auto deletes = f.runtime.calls_of("delete");
  REQUIRE(deletes.size() == 2);
  CHECK(deletes[0].args == std::vector<std::string>{"web", "plain"});
  CHECK(deletes[1].args == std::vector<std::string>{"web", "force"});
}

TEST_CASE(
    "a failed runtime delete of a task that never ran keeps it created and its rootfs "
    "mounted",
    "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  f.runtime.failures["delete"] = "runc delete failed: device or resource busy";
  auto err = f.remove("");
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message == "cannot delete task web: runc delete failed: device or resource busy");
  CHECK(f.state().st == status::created);
  CHECK(f.mounts.mounted_on(f.rootfs) == 1);
  // The next try succeeds and cleans up.
  f.runtime.failures.clear();
  REQUIRE_FALSE(f.remove(""));
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
}

TEST_CASE("pause and resume run the runtime, publish, and pass its failures on",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  REQUIRE_FALSE(f.await(f.task.pause()));
  CHECK(f.state().st == status::paused);
  REQUIRE_FALSE(f.await(f.task.resume()));
  CHECK(f.state().st == status::running);
  f.runtime.failures["pause"] = "runc pause failed: freezer not supported";
  auto err = f.await(f.task.pause());
  REQUIRE(err);
  CHECK(err->message == "cannot pause task web: runc pause failed: freezer not supported");
  CHECK(f.state().st == status::running);
  REQUIRE(f.run_until([&] { return f.count("/tasks/resumed") == 1; }));
  f.settle();
  CHECK(f.count("/tasks/paused") == 1);
}

TEST_CASE("pids lists the runtime's pids and says when its answer is garbage",
          "[unit][shim][task]") {
  task_fixture f;
  f.running();
  f.runtime.ps_text = "[" + std::to_string(kFakePid) + "]";
  std::vector<berth::shim::process_entry> list;
  REQUIRE_FALSE(f.await(f.task.pids(list)));
  REQUIRE(list.size() == 1);
  CHECK(list[0].pid == kFakePid);

  f.runtime.ps_text = "{not json";
  list.clear();
  auto garbage = f.await(f.task.pids(list));
  REQUIRE(garbage);
  CHECK(garbage->code == ErrorCode::INTERNAL);

  f.runtime.failures["ps"] = "runc ps failed: container does not exist";
  auto err = f.await(f.task.pids(list));
  REQUIRE(err);
  CHECK(err->message ==
        "cannot list the processes of task web: runc ps failed: container does not exist");
}

TEST_CASE("shutdown waits for live processes unless told now, then cleans up",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create(kBind));
  REQUIRE_FALSE(f.start());
  auto err = f.task.shutdown(false);
  REQUIRE(err);
  CHECK(err->code == ErrorCode::FAILED_PRECONDITION);
  CHECK(f.mounts.mounted_on(f.rootfs) == 1);
  REQUIRE_FALSE(f.task.shutdown(true));
  CHECK(f.runtime.calls_of("delete-now").size() == 1);
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  f.await(f.task.when_shutdown());
}
