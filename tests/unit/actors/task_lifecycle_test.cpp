// More of the task actor's life against fakes, on the deterministic
// coordinator (task_fixture.hpp): a create the runtime refuses leaves
// nothing behind, exec processes and their exits, delete with force, and an
// exit that happened while berthd was down.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/unit/actors/task_fixture.hpp"

using namespace berth;
using namespace berth::test;
using namespace std::chrono_literals;

TEST_CASE_METHOD(task_fixture, "task: a create the runtime refuses is cleaned up and answered",
                 "[task]") {
  fakes.shim->create_error =
      make_error(errc::failed_precondition, "runc create failed: exec: \"nope\": not found");
  task = spawn_task(sys, fakes.context(), params);
  auto pid = ask<std::uint32_t>(task, create_atom::value);
  run();
  INFO(log.dump());
  REQUIRE(pid->error);
  CHECK(pid->code() == errc::failed_precondition);
  CHECK(pid->message() == "runc create failed: exec: \"nope\": not found");
  // The shim that was started is deleted with its container; no record, no
  // bundle, no task actor is left.
  CHECK(log.find("shim: create") < log.find("runtime: cleanup default/web"));
  CHECK(pid->position > log.find("runtime: cleanup default/web"));
  CHECK_FALSE(log.has("store: put"));
  CHECK_FALSE(std::filesystem::exists(params.bundle));
  auto late = ask<task_info>(task, task_info_atom::value);
  run();
  REQUIRE(late->error);
  CHECK(late->code() == errc::unavailable);
}

TEST_CASE_METHOD(task_fixture, "task: an exec's exit is the exec's, never the task's", "[task]") {
  create_and_start();
  shim_exec x;
  x.exec_id = "sh1";
  x.args = {"sh"};
  auto added = ask<void>(task, x);
  run();
  REQUIRE(added->value);
  auto pid = ask<std::uint32_t>(task, task_start{"sh1"});
  run();
  REQUIRE(pid->value == 4243u);
  auto state = ask<task_info>(task, task_state{"sh1"});
  run();
  REQUIRE(state->value);
  CHECK(state->value->status == task_status::running);
  CHECK(state->value->pid == 4243u);

  shim_event ev = init_exit(5, 2);
  ev.exec_id = "sh1";
  ev.pid = 4243;
  emit(*fakes.shim, ev);
  run();
  INFO(log.dump());
  // Published as an exit of sh1; the task is still running, nothing stored.
  REQUIRE(fakes.events_data->published.size() == 1);
  CHECK(fakes.events_data->published[0].exec_id == "sh1");
  CHECK(fakes.events_data->published[0].status.code == 2);
  CHECK_FALSE(log.has("store: exit"));
  CHECK(info().status == task_status::running);
  state = ask<task_info>(task, task_state{"sh1"});
  run();
  REQUIRE(state->value);
  CHECK(state->value->status == task_status::stopped);
  CHECK(state->value->exit.code == 2);

  auto del = ask<deleted_process>(task, task_delete{"sh1", false});
  run();
  REQUIRE(del->value);
  CHECK(log.has("shim: delete sh1"));
}

TEST_CASE_METHOD(task_fixture,
                 "task: delete with force kills, waits for the stored exit, then deletes",
                 "[task]") {
  create_and_start();
  auto del = ask<deleted_process>(task, task_delete{"", true});
  run();
  INFO(log.dump());
  REQUIRE(log.has("shim: kill 9"));
  // Nothing is deleted until the container's exit has come and is stored.
  CHECK_FALSE(del->done());
  CHECK_FALSE(log.has("shim: delete"));

  fakes.shim->exit.code = 137;
  fakes.shim->exit.signal = 9;
  emit(*fakes.shim, init_exit(4, 137, 9));
  run();
  REQUIRE(del->value);
  CHECK(del->value->pid == 4242u);
  CHECK(del->value->status.code == 137);
  auto exit_stored = log.find("store: exit default/web 137");
  REQUIRE(exit_stored != journal::npos);
  CHECK(exit_stored < log.find("shim: delete"));
  CHECK(log.find("shim: delete") < log.find("shim: shutdown"));
  CHECK(log.find("shim: shutdown") < log.find("store: delete default/web"));
  CHECK(log.find("store: delete default/web") < log.find("events: /tasks/delete default/web 137"));
  CHECK(del->position > log.find("events: /tasks/delete"));
  CHECK(fakes.store_data->tasks.count("default/web") == 0);
  CHECK_FALSE(std::filesystem::exists(params.bundle));
}

TEST_CASE_METHOD(task_fixture,
                 "task: an exit that happened while berthd was down is stored and published once",
                 "[task]") {
  fakes.shim->status = shim_status::stopped;
  fakes.shim->exit.code = 3;
  recover();
  auto waiter = ask<exit_status>(task, task_wait{});
  run();
  INFO(log.dump());
  REQUIRE(log.has("shim: state"));
  CHECK(log.find("store: exit default/web 3") < log.find("events: /tasks/exit default/web 3"));
  CHECK(log.count("events: /tasks/exit") == 1);
  REQUIRE(waiter->value);
  CHECK(waiter->value->code == 3);
  auto i = info();
  CHECK(i.status == task_status::stopped);
  CHECK(i.exit.code == 3);
  // Its shim is alive: it stays for the delete, nothing is cleaned up.
  CHECK_FALSE(log.has("runtime: cleanup"));
  // The same exit re-sent by the shim's subscription: ignored.
  emit(*fakes.shim, init_exit(1, 3));
  run();
  CHECK(log.count("store: exit") == 1);
  CHECK(log.count("events: /tasks/exit") == 1);
}
