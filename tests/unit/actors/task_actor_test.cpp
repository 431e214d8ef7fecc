// The task actor against fake store, events, runtime and shim proxy actors,
// on CAF's deterministic test coordinator: no root, no shim, no real time.
// Each case is a script — ask, run, look at the answers and at the journal
// of what the fakes were asked — and the slow-shim cases move the test
// clock instead of sleeping. The same behaviour with real shims and runc is
// in tests/integration/daemon/.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "tests/unit/actors/task_fixture.hpp"

using namespace berth;
using namespace berth::test;
using namespace std::chrono_literals;

TEST_CASE_METHOD(task_fixture, "task: create and start go to the shim, in order, and are stored",
                 "[task]") {
  create();
  // The record that lets a restarted berthd find the shim is stored before
  // the creator hears of the task.
  CHECK(log.find("runtime: start shim default/web") < log.find("runtime: connect default/web"));
  CHECK(log.find("shim: connect") < log.find("shim: subscribe after 0"));
  CHECK(log.find("shim: subscribe after 0") < log.find("shim: create"));
  CHECK(log.has("store: put default/web created pid 4242"));
  CHECK(fakes.store_data->tasks["default/web"].shim_address == address());
  auto i = info();
  CHECK(i.status == task_status::created);
  CHECK(i.pid == 4242u);

  auto pid = ask<std::uint32_t>(task, task_start{});
  run();
  REQUIRE(pid->value == 4242u);
  CHECK(log.has("shim: start"));
  CHECK(log.has("store: put default/web running pid 4242"));
  CHECK(info().status == task_status::running);
}

TEST_CASE_METHOD(task_fixture, "task: an init exit is stored before it is published or answered",
                 "[task]") {
  create_and_start();
  auto waiter = ask<exit_status>(task, task_wait{});
  run();
  REQUIRE_FALSE(waiter->done());  // running: wait answers at the exit

  // The store keeps its answer back: the exit has been sent to it, not stored.
  fakes.store_data->hold_exits = true;
  emit(*fakes.shim, init_exit(3, 137, 9));
  run();
  INFO(log.dump());
  REQUIRE(log.has("store: exit default/web 137"));
  CHECK_FALSE(log.has("events: /tasks/exit"));
  CHECK_FALSE(waiter->done());
  // Until it is stored nobody hears of it; a listing says stopped already.
  CHECK(info().status == task_status::stopped);

  fakes.release_exits();
  run();
  INFO(log.dump());
  auto stored = log.find("store: stored exit default/web");
  REQUIRE(stored != journal::npos);
  REQUIRE(log.find("events: /tasks/exit default/web 137") > stored);
  REQUIRE(waiter->value);
  CHECK(waiter->position > stored);
  CHECK(waiter->value->code == 137);
  CHECK(waiter->value->signal == 9);
  REQUIRE(fakes.events_data->published.size() == 1);
  CHECK(fakes.events_data->published[0].pid == 4242u);
  CHECK(fakes.events_data->published[0].status.code == 137);

  // Re-sent by the shim after a reconnect (same number): ignored, not
  // stored or published twice.
  emit(*fakes.shim, init_exit(3, 137, 9));
  run();
  CHECK(log.count("store: exit default/web") == 1);
  CHECK(log.count("events: /tasks/exit") == 1);

  auto i = info();
  CHECK(i.status == task_status::stopped);
  CHECK(i.exit.code == 137);
  // A wait after the exit answers at once from the record.
  auto late = ask<exit_status>(task, task_wait{});
  run();
  REQUIRE(late->value);
  CHECK(late->value->code == 137);
}

TEST_CASE_METHOD(task_fixture, "task: an operation illegal in its state is refused, naming it",
                 "[task]") {
  SECTION("before create answered") {
    task = spawn_task(sys, fakes.context(), params);
    auto r = ask<void>(task, task_pause{});
    run();
    REQUIRE(r->error);
    CHECK(r->code() == errc::failed_precondition);
    CHECK(r->message() == "cannot pause task default/web: it is being created");
  }
  SECTION("created: not yet running") {
    create();
    auto r = ask<void>(task, task_resume{});
    run();
    REQUIRE(r->error);
    CHECK(r->code() == errc::failed_precondition);
    CHECK(r->message() == "cannot resume task default/web: it is created");
    CHECK_FALSE(log.has("shim: resume"));
  }
  SECTION("running: delete without force") {
    create_and_start();
    auto r = ask<deleted_process>(task, task_delete{});
    run();
    REQUIRE(r->error);
    CHECK(r->code() == errc::failed_precondition);
    CHECK(r->message() ==
          "cannot delete task default/web: it is running; kill it first, or delete with force");
    CHECK_FALSE(log.has("shim: delete"));
    CHECK(info().status == task_status::running);
  }
  SECTION("stopped") {
    create_and_start();
    emit(*fakes.shim, init_exit(3, 0));
    run();
    REQUIRE(info().status == task_status::stopped);
    auto pause = ask<void>(task, task_pause{});
    auto start = ask<std::uint32_t>(task, task_start{});
    run();
    REQUIRE(pause->error);
    CHECK(pause->code() == errc::failed_precondition);
    CHECK(pause->message() == "cannot pause task default/web: it is stopped");
    REQUIRE(start->error);
    CHECK(start->message() == "cannot start task default/web: it is stopped");
    // Refused by the table: the shim never saw them.
    CHECK_FALSE(log.has("shim: pause"));
    CHECK(log.count("shim: start") == 1);

    // What a stopped task does accept: delete, through the shim, then the
    // record goes and the delete is published.
    auto del = ask<deleted_process>(task, task_delete{});
    run();
    INFO(log.dump());
    REQUIRE(del->value);
    CHECK(del->value->pid == 4242u);
    CHECK(log.find("shim: delete") < log.find("store: delete default/web"));
    CHECK(log.find("store: delete default/web") < log.find("events: /tasks/delete default/web"));
    CHECK(fakes.store_data->tasks.count("default/web") == 0);
  }
}

TEST_CASE_METHOD(task_fixture, "task: pause and resume change its state once the shim confirms",
                 "[task]") {
  create_and_start();
  auto pause = ask<void>(task, task_pause{});
  run();
  REQUIRE(pause->value);
  CHECK(info().status == task_status::paused);
  CHECK(log.has("store: put default/web paused"));
  auto again = ask<void>(task, task_pause{});
  run();
  REQUIRE(again->error);
  CHECK(again->message() == "cannot pause task default/web: it is paused");
  auto resume = ask<void>(task, task_resume{});
  run();
  REQUIRE(resume->value);
  CHECK(info().status == task_status::running);
}

TEST_CASE_METHOD(task_fixture,
                 "task: a recovered task whose shim misses its deadline is unknown, asked again "
                 "with backoff, and running again with the same pid when the shim answers",
                 "[task]") {
  stopped_shim_files files{params.bundle};
  fakes.shim->status = shim_status::running;
  fakes.shim->silent = true;
  recover();
  run();
  INFO(log.dump());
  REQUIRE(log.count("runtime: connect default/web") == 1);
  REQUIRE(log.has("shim: connect (no answer)"));
  // While the shim is asked, a listing answers from the record at once.
  CHECK(info().status == task_status::running);

  // The proxy's deadline passes: unknown, with the reason; nothing cleaned up.
  advance(5s);
  auto i = info();
  CHECK(i.status == task_status::unknown);
  std::string me = std::to_string(::getpid());
  CHECK(i.exit.reason == "its shim does not answer (pid " + me + ", 1 attempt); retrying");
  CHECK(i.pid == 4242u);
  CHECK_FALSE(log.has("runtime: cleanup"));
  CHECK(fakes.store_data->tasks["default/web"].status == task_status::running);

  // Requests that need the shim are answered at once, saying why.
  auto pause = ask<void>(task, task_pause{});
  run();
  REQUIRE(pause->error);
  CHECK(pause->code() == errc::unavailable);
  CHECK(pause->message() == "cannot pause task default/web: its shim does not answer (pid " + me +
                                ", 1 attempt); retrying");
  CHECK_FALSE(log.has("shim: pause"));

  // Backoff: asked again 0.5 s later, then 1 s after the next miss.
  advance(499ms);
  CHECK(log.count("runtime: connect default/web") == 1);
  advance(1ms);
  CHECK(log.count("runtime: connect default/web") == 2);
  advance(5s);
  CHECK(info().exit.reason == "its shim does not answer (pid " + me + ", 2 attempts); retrying");
  advance(999ms);
  CHECK(log.count("runtime: connect default/web") == 2);
  advance(1ms);
  CHECK(log.count("runtime: connect default/web") == 3);
  advance(5s);
  CHECK(info().status == task_status::unknown);

  // SIGCONT: the next attempt (2 s later) is answered.
  fakes.shim->silent = false;
  advance(2s);
  INFO(log.dump());
  CHECK(log.count("runtime: connect default/web") == 4);
  i = info();
  CHECK(i.status == task_status::running);
  CHECK(i.pid == 4242u);
  CHECK(i.exit.reason.empty());
  // The task is what the shim says, with nothing restarted or cleaned up.
  CHECK_FALSE(log.has("shim: create"));
  CHECK_FALSE(log.has("shim: start"));
  CHECK_FALSE(log.has("runtime: start shim"));
  CHECK_FALSE(log.has("runtime: cleanup"));
  CHECK(log.has("shim: subscribe after 0"));
  // And serves again.
  auto again = ask<void>(task, task_pause{});
  run();
  CHECK(again->value);
  // No more attempts once it answered.
  advance(60s);
  CHECK(log.count("runtime: connect default/web") == 4);
}

TEST_CASE_METHOD(task_fixture, "task: a call that misses its deadline makes a running task unknown",
                 "[task]") {
  stopped_shim_files files{params.bundle};
  create_and_start();
  fakes.shim->silent = true;
  auto pids = ask<std::vector<process_info>>(task, task_pids{});
  run();
  CHECK_FALSE(pids->done());
  CHECK(info().status == task_status::running);
  advance(5s);
  REQUIRE(pids->error);
  CHECK(pids->code() == errc::deadline_exceeded);
  CHECK(pids->message() == "shim for task default/web did not answer pids within 5s");
  auto i = info();
  CHECK(i.status == task_status::unknown);
  CHECK(i.exit.reason.find("its shim does not answer") == 0);
  CHECK_FALSE(log.has("runtime: cleanup"));
}

TEST_CASE_METHOD(task_fixture,
                 "task: a shim that is gone is cleaned up and its task stopped with 255 and why",
                 "[task]") {
  SECTION("at recovery: the shim's socket is gone") {
    fakes.shim->gone = true;
    recover();
    auto waiter = ask<exit_status>(task, task_wait{});
    run();
    INFO(log.dump());
    REQUIRE(log.has("shim: connect (refused)"));
    REQUIRE(log.has("runtime: cleanup default/web"));
    CHECK(log.find("store: exit default/web 255") <
          log.find("events: /tasks/exit default/web 255"));
    REQUIRE(waiter->value);
    CHECK(waiter->value->code == 255);
    auto i = info();
    CHECK(i.status == task_status::stopped);
    CHECK(i.exit.code == 255);
    CHECK(i.exit.reason == "shim died (its socket " + params.bundle +
                               "/shim.sock is gone; cannot connect to shim for task default/web: "
                               "connection refused): no exit was recorded");
    CHECK(fakes.store_data->tasks["default/web"].exit_reason == i.exit.reason);
  }
  SECTION("while running: the proxy reports the connection lost") {
    create_and_start();
    fakes.shim->gone = true;
    caf::anon_send(fakes.shim->subscriber,
                   shim_lost{"default", "web", "the shim closed the connection"});
    run();
    INFO(log.dump());
    REQUIRE(log.has("runtime: cleanup default/web"));
    auto i = info();
    CHECK(i.status == task_status::stopped);
    CHECK(i.exit.code == 255);
    CHECK(i.exit.reason.find("shim died (its socket ") == 0);
    CHECK(i.exit.reason.find("no exit was recorded") != std::string::npos);
    CHECK(log.find("store: exit default/web 255") <
          log.find("events: /tasks/exit default/web 255"));
  }
}
