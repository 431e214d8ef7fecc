// `berth t …` against a real berthd with real runc: the seed's sequence
// (c create, t start -d, t ls RUNNING, t pause PAUSED, t resume, t exec,
// t kill, t wait, t rm, c rm) and every task verb's happy path and bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_fixture.hpp"

using namespace berth::test;
using Catch::Contains;
using Catch::StartsWith;

namespace {

// A task that says it started, then runs until SIGTERM, then exits 42.
std::vector<std::string> service_command() {
  return {"sh", "-c",
          "trap 'exit 42' TERM; echo started; echo oops >&2; "
          "while true; do sleep 0.1; done"};
}

}  // namespace

TEST_CASE("the seed's sequence", "[cli][tasks]") {
  auto id = unique_id("web");
  auto created = b(create_args(id, service_command()));
  REQUIRE(created.err == "");
  REQUIRE(created.exit_code == 0);

  auto started = b({"t", "start", "-d", id});
  REQUIRE(started.err == "");
  REQUIRE(started.exit_code == 0);

  auto ls = b({"t", "ls"});
  CHECK_THAT(ls.out, StartsWith("TASK"));
  CHECK(has_row(ls.out, id, "RUNNING"));

  REQUIRE(b({"t", "pause", id}).exit_code == 0);
  CHECK(has_row(b({"t", "ls"}).out, id, "PAUSED"));
  auto paused_again = b({"t", "pause", id});
  CHECK(paused_again.exit_code == 1);
  CHECK_THAT(paused_again.err, StartsWith("berth: pause task " + id + ": "));

  REQUIRE(b({"t", "resume", id}).exit_code == 0);
  CHECK(has_row(b({"t", "ls"}).out, id, "RUNNING"));

  auto exec = b({"t", "exec", "--exec-id", "e1", id, "sh", "-c", "echo from-exec; exit 3"});
  CHECK(exec.err == "");
  CHECK(exec.out == "from-exec\n");
  CHECK(exec.exit_code == 3);

  auto killed = b({"t", "kill", id});
  CHECK(killed.err == "");
  CHECK(killed.exit_code == 0);
  auto waited = b({"t", "wait", id});
  CHECK(waited.err == "");
  CHECK(waited.out == "42\n");
  CHECK(waited.exit_code == 0);
  CHECK(has_row(b({"t", "ls"}).out, id, "STOPPED"));

  auto logs = b({"t", "logs", id});
  CHECK(logs.exit_code == 0);
  CHECK(logs.out == "started\n");
  CHECK(logs.err == "oops\n");

  auto rm = b({"t", "rm", id});
  CHECK(rm.err == "");
  CHECK(rm.exit_code == 0);
  CHECK_FALSE(has_row(b({"t", "ls"}).out, id, ""));
  auto crm = b({"c", "rm", id});
  CHECK(crm.err == "");
  CHECK(crm.exit_code == 0);
}

TEST_CASE("t ps, t metrics, t ls -q and --format json on a running task", "[cli][tasks]") {
  auto id = unique_id("ps");
  REQUIRE(b(create_args(id, service_command())).exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);

  auto ps = b({"t", "ps", id});
  CHECK(ps.exit_code == 0);
  CHECK_THAT(ps.out, StartsWith("PID"));
  CHECK(std::count(ps.out.begin(), ps.out.end(), '\n') >= 2);
  // COMMAND is each process's argv, as ps shows it: the shell and its sleep.
  CHECK_THAT(ps.out, Contains("sh -c trap 'exit 42' TERM;"));
  CHECK_THAT(ps.out, Contains("sleep 0.1"));

  auto metrics = b({"t", "metrics", id});
  CHECK(metrics.exit_code == 0);
  CHECK_THAT(metrics.out, Contains("memory.usage_in_bytes"));
  auto mjson = b({"t", "metrics", "--format", "json", id});
  CHECK(nlohmann::json::parse(mjson.out).contains("memory_usage"));

  CHECK_THAT(b({"t", "ls", "-q"}).out, Contains(id + "\n"));
  auto json = nlohmann::json::parse(b({"t", "ls", "--format", "json"}).out);
  bool found = false;
  for (const auto& t : json) found |= t["id"] == id && t["status"] == "RUNNING" && t["pid"] > 0;
  CHECK(found);

  // A running task is not deleted without -f; with -f it is.
  auto busy = b({"t", "rm", id});
  CHECK(busy.exit_code == 1);
  CHECK_THAT(busy.err, StartsWith("berth: delete task " + id + ": "));
  auto forced = b({"t", "rm", "-f", id});
  CHECK(forced.err == "");
  CHECK(forced.exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("t kill -s by name and number, exec kill, --all", "[cli][tasks]") {
  auto id = unique_id("kill");
  REQUIRE(b(create_args(id, {"sh", "-c", "while true; do sleep 0.1; done"})).exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);

  REQUIRE(b({"t", "exec", "-d", "--exec-id", "sleeper", id, "sleep", "100"}).exit_code == 0);
  CHECK(b({"t", "kill", "-s", "9", "--exec-id", "sleeper", id}).exit_code == 0);
  auto exec_wait = b({"t", "wait", "--exec-id", "sleeper", id});
  CHECK(exec_wait.out == "137\n");

  CHECK(b({"t", "kill", "-s", "kill", "--all", id}).exit_code == 0);
  CHECK(b({"t", "wait", id}).out == "137\n");
  auto dead = b({"t", "kill", id});
  CHECK(dead.exit_code == 1);
  CHECK_THAT(dead.err, StartsWith("berth: kill task " + id + ": "));
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("task verbs on an unknown id say so", "[cli][tasks]") {
  for (auto args :
       std::vector<std::vector<std::string>>{{"t", "kill", "nosuch"},
                                             {"t", "pause", "nosuch"},
                                             {"t", "resume", "nosuch"},
                                             {"t", "ps", "nosuch"},
                                             {"t", "wait", "nosuch"},
                                             {"t", "rm", "nosuch"},
                                             {"t", "metrics", "nosuch"},
                                             {"t", "logs", "nosuch"},
                                             {"t", "attach", "nosuch"},
                                             {"t", "exec", "--exec-id", "e", "nosuch", "true"}}) {
    INFO(args[1]);
    auto r = b(args);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, StartsWith("berth: "));
    CHECK_THAT(r.err, Contains("nosuch"));
    CHECK_THAT(r.err, Contains("not found"));
  }
  auto start = b({"t", "start", "-d", "nosuch"});
  CHECK(start.exit_code == 1);
  CHECK_THAT(start.err, StartsWith("berth: create task nosuch: "));
  CHECK_THAT(start.err, Contains("not found"));
}

TEST_CASE("t start twice, exec with a taken id", "[cli][tasks]") {
  auto id = unique_id("twice");
  REQUIRE(b(create_args(id, {"sh", "-c", "while true; do sleep 0.1; done"})).exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
  auto again = b({"t", "start", "-d", id});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("already exists"));

  REQUIRE(b({"t", "exec", "-d", "--exec-id", "x", id, "sleep", "100"}).exit_code == 0);
  auto taken = b({"t", "exec", "-d", "--exec-id", "x", id, "true"});
  CHECK(taken.exit_code == 1);
  CHECK_THAT(taken.err, Contains("already exists"));
  CHECK(b({"t", "rm", "-f", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("t start attached: output, exit code, task deleted", "[cli][tasks]") {
  auto id = unique_id("att");
  REQUIRE(b(create_args(id, {"sh", "-c", "echo out; echo err >&2; exit 4"})).exit_code == 0);
  auto r = b({"t", "start", id});
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(r.exit_code == 4);
  CHECK_FALSE(has_row(b({"t", "ls"}).out, id, ""));
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("t attach and t logs -f follow a task to its end", "[cli][tasks]") {
  auto id = unique_id("follow");
  REQUIRE(
      b(create_args(id, {"sh", "-c", "for i in 1 2 3; do echo tick$i; sleep 0.3; done; exit 6"}))
          .exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
  background_berth logs(daemon().address(), {"t", "logs", "-f", id});
  // attach, as ctr's, shows what comes after it connected: the last tick at least.
  auto attached = b({"t", "attach", id});
  CHECK_THAT(attached.out, Catch::EndsWith("tick3\n"));
  CHECK(attached.err == "");
  CHECK(attached.exit_code == 6);
  CHECK(logs.wait() == 0);
  CHECK(logs.out() == "tick1\ntick2\ntick3\n");
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("t start -d keeps stdin open; t attach feeds it and its EOF", "[cli][tasks]") {
  auto id = unique_id("stdin");
  // Reads one line, echoes it, then waits for EOF: only an attached client can end it.
  REQUIRE(b(create_args(id, {"sh", "-c",
                             "read line; echo got $line; echo oops >&2; cat >/dev/null; "
                             "echo eof; exit 3"}))
              .exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
  // Detached, it neither saw EOF nor exited.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(has_row(b({"t", "ls"}).out, id, "RUNNING"));

  berth_call call({"t", "attach", id}, daemon().address());
  call.input = "hello\nmore input\n";
  auto attached = run_berth(call);
  CHECK(attached.out == "got hello\neof\n");
  CHECK(attached.err == "oops\n");
  CHECK(attached.exit_code == 3);
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("t attach to a stopped task says so", "[cli][tasks]") {
  auto id = unique_id("gone");
  REQUIRE(b(create_args(id, {"true"})).exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
  REQUIRE(b({"t", "wait", id}).exit_code == 0);
  auto attached = b({"t", "attach", id});
  CHECK(attached.exit_code == 1);
  CHECK(attached.err == "berth: attach to task " + id + ": cannot attach to task default/" + id +
                            ": it is stopped\n");
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}
