// Bad input to a real shim: each is a clear error (code and message), and the
// shim goes on serving the next call on the same connection.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

// The shim answers: the connection still works after an error.
void check_serving(shim_client& c) {
  auto req = c.task().connectRequest();
  req.initReq();
  auto resp = answer(c, req.send(), "connect");
  CHECK(resp.getResp().getShimPid() > 0);
}

}  // namespace

TEST_CASE("start refuses a bundle that does not exist", "[shim][bad-input]") {
  temp_dir dir("berth-shim-test");
  shim_args a;
  a.id = "no-bundle";
  a.bundle = dir / "missing";
  a.state_dir = dir / "state";
  auto r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK(r.out.empty());  // no address
  CHECK_THAT(r.err, Catch::Matchers::Contains("bundle " + a.bundle + " does not exist"));

  a.bundle = "relative/bundle";
  r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Matchers::Contains("invalid bundle \"relative/bundle\""));
}

TEST_CASE("start refuses an unknown runtime binary", "[shim][bad-input]") {
  temp_dir dir("berth-shim-test");
  make_busybox_bundle(dir / "bundle");
  shim_args a;
  a.id = "no-runtime";
  a.bundle = dir / "bundle";
  a.runtime = "no-such-runtime";
  auto r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Matchers::Contains("unknown runtime \"no-such-runtime\""));
  a.runtime = dir / "bundle/config.json";  // exists, but cannot run
  r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Matchers::Contains("unknown runtime"));
  CHECK(shim_pid(a.bundle) == 0);  // nothing was started
}

TEST_CASE("start refuses a bad task id or namespace", "[shim][bad-input]") {
  temp_dir dir("berth-shim-test");
  make_busybox_bundle(dir / "bundle");
  shim_args a;
  a.id = "../escape";
  a.bundle = dir / "bundle";
  auto r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Matchers::Contains("invalid task id \"../escape\""));
  a.id = "fine";
  a.ns = "a/b";
  r = start_shim(a);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Matchers::Contains("invalid namespace \"a/b\""));
}

TEST_CASE("a malformed config.json is an invalid argument naming it", "[shim][runc][bad-input]") {
  test_shim s("bad-config", {.args = {"sh", "-c", "exit 3"}});
  const std::string config = s.args.bundle + "/config.json";
  const std::string good = read_text(config);
  shim_client c(s.address);

  write_text(config, "{\"process\": {\"args\": [");
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle).getResp(), INVALID_ARGUMENT,
              "cannot create task bad-config: " + config);
  CHECK_ERROR(rpc::state(c).getResp(), NOT_FOUND, "task bad-config was not created");

  write_text(config, "[1, 2]");
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle).getResp(), INVALID_ARGUMENT,
              "config.json has no \"process\" object");

  std::remove(config.c_str());
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle).getResp(), INVALID_ARGUMENT,
              "config.json cannot be read");

  // Fixed, the same connection creates and runs it.
  write_text(config, good);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 3);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("create refuses a request for another task", "[shim][runc][bad-input]") {
  test_shim s("mine", {.args = {"true"}});
  shim_client c(s.address);
  CHECK_ERROR(rpc::create(c, "other", s.args.bundle).getResp(), INVALID_ARGUMENT,
              "cannot create task other: this shim serves task mine");
  CHECK_ERROR(rpc::create(c, s.args.id, s.dir / "elsewhere").getResp(), INVALID_ARGUMENT,
              "this shim serves bundle " + s.args.bundle);
  check_serving(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle).getResp(), ALREADY_EXISTS,
              "cannot create task mine: it was already created");
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("every operation in a wrong state is refused, naming the state",
          "[shim][runc][bad-input]") {
  test_shim s("web", {.args = {"sleep", "30"}});
  shim_client c(s.address);

  // Before create.
  CHECK_ERROR(rpc::start(c).getResp(), NOT_FOUND, "task web was not created");
  CHECK_ERROR(rpc::pause(c).getResp(), NOT_FOUND, "task web was not created");
  CHECK_ERROR(rpc::kill(c, SIGTERM).getResp(), NOT_FOUND, "task web was not created");
  CHECK_ERROR(rpc::wait(c).getResp(), NOT_FOUND, "task web was not created");
  CHECK_ERROR(rpc::remove(c).getResp(), NOT_FOUND, "task web was not created");
  CHECK_ERROR(rpc::exec(c, "e1", {"true"}).getResp(), NOT_FOUND, "task web was not created");

  // Created.
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  CHECK_ERROR(rpc::pause(c).getResp(), FAILED_PRECONDITION, "cannot pause task web: it is created");
  CHECK_ERROR(rpc::resume(c).getResp(), FAILED_PRECONDITION,
              "cannot resume task web: it is created");
  CHECK_ERROR(rpc::exec(c, "e1", {"true"}).getResp(), FAILED_PRECONDITION,
              "cannot exec task web: it is created");

  // Running.
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK_ERROR(rpc::start(c).getResp(), FAILED_PRECONDITION, "cannot start task web: it is running");
  CHECK_ERROR(rpc::remove(c).getResp(), FAILED_PRECONDITION,
              "cannot delete task web: it is running");
  CHECK_ERROR(rpc::resume(c).getResp(), FAILED_PRECONDITION,
              "cannot resume task web: it is running");
  CHECK_ERROR(rpc::kill(c, 0).getResp(), INVALID_ARGUMENT, "invalid signal 0");
  CHECK_ERROR(rpc::kill(c, 99).getResp(), INVALID_ARGUMENT, "invalid signal 99");

  // Exec processes: bad ids, reused ids, wrong states.
  CHECK_ERROR(rpc::exec(c, "../x", {"true"}).getResp(), INVALID_ARGUMENT,
              "invalid exec id \"../x\"");
  CHECK_ERROR(rpc::exec(c, "", {"true"}).getResp(), INVALID_ARGUMENT, "invalid exec id");
  CHECK_ERROR(rpc::exec(c, "e0", {}).getResp(), INVALID_ARGUMENT,
              "invalid process for exec e0: args must not be empty");
  REQUIRE_OK(rpc::exec(c, "e1", {"sleep", "30"}).getResp());
  CHECK_ERROR(rpc::exec(c, "e1", {"true"}).getResp(), ALREADY_EXISTS,
              "exec e1 of task web already exists");
  CHECK_ERROR(rpc::kill(c, SIGKILL, "e1").getResp(), FAILED_PRECONDITION,
              "cannot kill exec e1 of task web");
  CHECK_ERROR(rpc::start(c, "nope").getResp(), NOT_FOUND, "exec nope of task web not found");
  CHECK_ERROR(rpc::state(c, "nope").getResp(), NOT_FOUND, "exec nope of task web not found");
  REQUIRE_OK(rpc::start(c, "e1").getResp());
  CHECK_ERROR(rpc::start(c, "e1").getResp(), FAILED_PRECONDITION,
              "cannot start exec e1 of task web: it is running");
  CHECK_ERROR(rpc::remove(c, "e1").getResp(), FAILED_PRECONDITION,
              "cannot delete exec e1 of task web: it is running");
  REQUIRE_OK(rpc::kill(c, SIGKILL, "e1").getResp());
  auto e1 = rpc::wait(c, "e1");
  REQUIRE_OK(e1.getResp());
  CHECK(e1.getResp().getStatus().getCode() == 137);
  CHECK_ERROR(rpc::kill(c, SIGKILL, "e1").getResp(), NOT_FOUND,
              "cannot kill exec e1 of task web: process already finished");
  REQUIRE_OK(rpc::exec(c, "e2", {"true"}).getResp());  // never started

  // Paused.
  REQUIRE_OK(rpc::pause(c).getResp());
  CHECK_ERROR(rpc::pause(c).getResp(), FAILED_PRECONDITION, "cannot pause task web: it is paused");
  CHECK_ERROR(rpc::exec(c, "e3", {"true"}).getResp(), FAILED_PRECONDITION,
              "cannot exec task web: it is paused");
  CHECK_ERROR(rpc::remove(c).getResp(), FAILED_PRECONDITION,
              "cannot delete task web: it is paused");
  REQUIRE_OK(rpc::resume(c).getResp());

  // Stopped.
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  CHECK_ERROR(rpc::kill(c, SIGKILL).getResp(), NOT_FOUND,
              "cannot kill task web: process already finished");
  CHECK_ERROR(rpc::pause(c).getResp(), FAILED_PRECONDITION, "cannot pause task web: it is stopped");
  CHECK_ERROR(rpc::start(c).getResp(), FAILED_PRECONDITION, "cannot start task web: it is stopped");
  CHECK_ERROR(rpc::start(c, "e2").getResp(), FAILED_PRECONDITION,
              "cannot start exec e2 of task web: task is stopped");
  CHECK_ERROR(rpc::exec(c, "e4", {"true"}).getResp(), FAILED_PRECONDITION,
              "cannot exec task web: it is stopped");

  // Deleted.
  REQUIRE_OK(rpc::remove(c).getResp());
  CHECK_ERROR(rpc::remove(c).getResp(), NOT_FOUND, "cannot delete task web: it is deleted");
  CHECK_ERROR(rpc::start(c).getResp(), NOT_FOUND, "cannot start task web: it is deleted");
  CHECK_ERROR(rpc::kill(c, SIGKILL).getResp(), NOT_FOUND, "cannot kill task web");
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::DELETED);
  check_serving(c);
}

TEST_CASE("a client that disconnects mid-call leaves the shim serving", "[shim][runc][bad-input]") {
  test_shim s("dropped", {.args = {"sleep", "30"}});
  auto c = std::make_unique<shim_client>(s.address);
  REQUIRE_OK(rpc::create(*c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(*c).getResp());
  {
    // A wait that will not resolve for 30 s, and a pids that runs runc: both
    // dropped with their connection, unanswered.
    auto wait_req = c->task().waitRequest();
    wait_req.initReq();
    auto pending_wait = wait_req.send();
    auto pids_req = c->task().pidsRequest();
    pids_req.initReq();
    auto pending_pids = pids_req.send();
    c->pump(20);  // let them leave
  }
  c->disconnect();
  c->reconnect(s.address);
  CHECK(rpc::state(*c).getResp().getStatus() == wire::TaskStatus::RUNNING);

  // A whole client gone mid-call (its event loop too), then a fresh one.
  {
    auto req = c->task().waitRequest();
    req.initReq();
    auto pending = req.send();
    c->pump(20);
  }
  c.reset();
  shim_client d(s.address);
  CHECK(rpc::state(d).getResp().getStatus() == wire::TaskStatus::RUNNING);
  REQUIRE_OK(rpc::kill(d, SIGKILL).getResp());
  auto waited = rpc::wait(d);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  REQUIRE_OK(rpc::remove(d).getResp());
}

TEST_CASE("a client that disconnects mid-create still gets the task created",
          "[shim][runc][bad-input]") {
  test_shim s("dropped-create", {.args = {"sh", "-c", "exit 4"}});
  {
    shim_client c(s.address);
    auto req = c.task().createRequest();
    auto r = req.initReq();
    r.setId(s.args.id);
    r.setBundle(s.args.bundle);
    auto pending = req.send();
    c.pump(20);
  }
  shim_client c(s.address);
  // runc create finishes without its caller; the task is then created, whole.
  REQUIRE(eventually([&] {
    auto st = rpc::state(c);
    return !st.getResp().hasError() && st.getResp().getPid() > 0;
  }));
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::CREATED);
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 4);
  REQUIRE_OK(rpc::remove(c).getResp());
}
