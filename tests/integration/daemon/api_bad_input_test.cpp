// berthd refuses bad input with a clear message and keeps serving: invalid
// ids, duplicates, unknown objects and runtimes, malformed options, every
// operation in every task state where it is illegal, and a client that goes
// away in the middle of a request.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string create_error(api_client& c, const std::string& ns, const std::string& id,
                         const std::string& rootfs, wire::ErrorCode want) {
  std::string msg;
  auto code = c.create_container(ns, id, rootfs, {"true"}, &msg);
  CHECK(code == want);
  return msg;
}

// Sends one task operation; returns its error ("" on success).
std::string op(api_client& c, wire::api::Task::Client& t, const std::string& name) {
  auto& ws = c.ws();
  if (name == "start") {
    auto r = t.startRequest();
    r.initReq();
    return error_of(r.send().wait(ws).getResp());
  }
  if (name == "pause") {
    auto r = t.pauseRequest();
    r.initReq();
    return error_of(r.send().wait(ws).getResp());
  }
  if (name == "resume") {
    auto r = t.resumeRequest();
    r.initReq();
    return error_of(r.send().wait(ws).getResp());
  }
  if (name == "exec") {
    auto r = t.execRequest();
    auto x = r.initReq();
    x.setExecId("probe");
    x.initSpec().initArgs(1).set(0, "true");
    return error_of(r.send().wait(ws).getResp());
  }
  if (name == "delete") {
    auto r = t.deleteRequest();
    r.initReq();
    return error_of(r.send().wait(ws).getResp());
  }
  if (name == "checkpoint") {
    auto r = t.checkpointRequest();
    r.initReq().setPath("/tmp/berth-checkpoint-probe");
    return error_of(r.send().wait(ws).getResp());
  }
  FAIL("unknown operation " << name);
  return "";
}

}  // namespace

TEST_CASE("bad ids, duplicates, unknown objects and options are refused clearly",
          "[daemon][api][bad-input]") {
  berthd_process d;
  api_client c(d.address());
  auto rootfs = d.rootfs();

  CHECK_THAT(create_error(c, "", "", rootfs, wire::ErrorCode::INVALID_ARGUMENT),
             Contains("container id") && Contains("empty"));
  CHECK_THAT(create_error(c, "", std::string(77, 'a'), rootfs, wire::ErrorCode::INVALID_ARGUMENT),
             Contains("76"));
  CHECK_THAT(create_error(c, "", "../x", rootfs, wire::ErrorCode::INVALID_ARGUMENT),
             Contains("\"../x\""));
  CHECK_THAT(create_error(c, "", "a/b", rootfs, wire::ErrorCode::INVALID_ARGUMENT),
             Contains("\"a/b\""));
  CHECK_THAT(create_error(c, "bad/ns", "x", rootfs, wire::ErrorCode::INVALID_ARGUMENT),
             Contains("namespace"));

  REQUIRE(c.create_container("", "dup", rootfs, {"true"}) == wire::ErrorCode::OK);
  CHECK(create_error(c, "", "dup", rootfs, wire::ErrorCode::ALREADY_EXISTS) ==
        "container default/dup already exists");

  std::string msg;
  CHECK(c.create_container("", "rt", rootfs, {"true"}, &msg, "io.example.nope.v1") ==
        wire::ErrorCode::INVALID_ARGUMENT);
  CHECK(msg ==
        "unknown runtime \"io.example.nope.v1\" for container default/rt; known runtimes: "
        "io.berth.crun.v1, io.berth.runc.v1");

  CHECK(create_error(c, "", "noimg", "", wire::ErrorCode::NOT_FOUND) ==
        "image \"docker.io/library/busybox:latest\" in namespace \"default\" not found");
  CHECK_THAT(create_error(c, "", "relroot", "rootfs", wire::ErrorCode::INVALID_ARGUMENT),
             Contains("invalid rootfs \"rootfs\""));

  {  // malformed env and mounts
    auto req = c.berth().createContainerRequest();
    auto r = req.initReq();
    r.setId("badenv");
    r.initOptions().setRootfs(rootfs);
    auto p = r.getOptions().initProcess();
    p.initArgs(1).set(0, "true");
    p.initEnv(1).set(0, "NOEQUALS");
    CHECK(error_of(c.send(req).getResp()) ==
          "invalid options for container badenv: environment entry \"NOEQUALS\" is not "
          "KEY=VALUE");
    auto req2 = c.berth().createContainerRequest();
    auto r2 = req2.initReq();
    r2.setId("badmount");
    r2.initOptions().setRootfs(rootfs);
    r2.getOptions().initProcess().initArgs(1).set(0, "true");
    auto m = r2.getOptions().initMounts(1)[0];
    m.setType("bind");
    m.setSource("relative/dir");
    m.setDestination("/data");
    CHECK_THAT(error_of(c.send(req2).getResp()),
               Contains("bind mount source \"relative/dir\" must be an absolute path"));
  }

  {  // unknown objects
    auto ct = c.berth().createTaskRequest();
    ct.initReq().setId("nope");
    CHECK(error_of(c.send(ct).getResp()) == "container default/nope not found");
    std::string err;
    c.status("default", "dup", &err);
    CHECK(err == "task default/dup not found");
    auto rm = c.berth().deleteContainerRequest();
    rm.initReq().setId("nope");
    CHECK(error_of(c.send(rm).getResp()) == "container default/nope not found");
  }

  // Nothing was half-created: only `dup` exists.
  auto list = c.berth().listContainersRequest();
  list.initReq();
  CHECK(c.send(list).getResp().getContainers().size() == 1);
  c.remove("default", "dup");
  // Still serving.
  auto v = c.berth().versionRequest();
  v.initReq();
  CHECK(std::string(c.send(v).getResp().getVersion().cStr()) != "");
}

TEST_CASE("every task state refuses the operations it does not allow", "[daemon][api][states]") {
  berthd_process d;
  api_client c(d.address());
  REQUIRE(c.create_container("", "st", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);

  // created: only start, kill, delete and the like.
  auto ct = c.berth().createTaskRequest();
  ct.initReq().setId("st");
  auto created_resp = c.send(ct);
  REQUIRE(error_of(created_resp.getResp()) == "");
  auto task = created_resp.getTask();
  auto pause = task.pauseRequest();
  pause.initReq();
  CHECK(error_of(c.send(pause).getResp()) == "cannot pause task default/st: it is created");
  auto exec = task.execRequest();
  exec.initReq().setExecId("x");
  exec.getReq().initSpec().initArgs(1).set(0, "true");
  CHECK(error_of(c.send(exec).getResp()) == "cannot exec in task default/st: it is created");
  auto create_again = c.berth().createTaskRequest();
  create_again.initReq().setId("st");
  CHECK(error_of(c.send(create_again).getResp()) == "task for container default/st already exists");

  auto start = task.startRequest();
  start.initReq();
  REQUIRE(error_of(c.send(start).getResp()) == "");

  // running
  CHECK(op(c, task, "start") == "cannot start task default/st: it is running");
  CHECK(op(c, task, "resume") == "cannot resume task default/st: it is running");
  CHECK(op(c, task, "delete") ==
        "cannot delete task default/st: it is running; kill it first, or delete with force");
  CHECK(op(c, task, "exec") == "");
  CHECK(op(c, task, "pause") == "");
  // paused
  CHECK(c.status("default", "st") == wire::TaskStatus::PAUSED);
  CHECK(op(c, task, "start") == "cannot start task default/st: it is paused");
  CHECK(op(c, task, "pause") == "cannot pause task default/st: it is paused");
  CHECK(op(c, task, "exec") == "cannot exec in task default/st: it is paused");
  CHECK(op(c, task, "delete") ==
        "cannot delete task default/st: it is paused; kill it first, or delete with force");
  CHECK(op(c, task, "resume") == "");
  CHECK(c.status("default", "st") == wire::TaskStatus::RUNNING);

  auto kill = task.killRequest();
  kill.initReq().setSignal(9);
  kill.getReq().setAll(true);
  REQUIRE(error_of(c.send(kill).getResp()) == "");
  auto wait = task.waitRequest();
  wait.initReq();
  REQUIRE(error_of(c.send(wait).getResp()) == "");

  // stopped: everything but delete is refused.
  for (auto name : {"start", "pause", "resume", "checkpoint"})
    CHECK(op(c, task, name) == std::string("cannot ") + name + " task default/st: it is stopped");
  CHECK(op(c, task, "exec") == "cannot exec in task default/st: it is stopped");
  CHECK(op(c, task, "delete") == "");
  CHECK(shims_left(d.state()).empty());
  // The container outlives its task, and goes when asked.
  auto rm = c.berth().deleteContainerRequest();
  rm.initReq().setId("st");
  CHECK(error_of(c.send(rm).getResp()) == "");
}

TEST_CASE("a client that disconnects mid-request does not hurt the daemon",
          "[daemon][api][bad-input]") {
  berthd_process d;
  {
    api_client c(d.address());
    REQUIRE(c.create_container("", "dc", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
    std::string err;
    auto t = c.run("default", "dc", &err);
    REQUIRE(err == "");
    // A wait that will never be answered while this client lives...
    auto w = t.waitRequest();
    w.initReq();
    auto pending = w.send();
    // ...and a create whose answer nobody reads.
    auto ct = c.berth().createTaskRequest();
    ct.initReq().setId("dc");
    auto pending2 = ct.send();
    c.pump_until([] { return false; }, std::chrono::milliseconds(50));
  }  // the client goes away here
  api_client c(d.address());
  CHECK(c.status("default", "dc") == wire::TaskStatus::RUNNING);
  c.remove("default", "dc");
  std::string err;
  c.status("default", "dc", &err);
  CHECK(err == "task default/dc not found");
  CHECK(shims_left(d.state()).empty());
}

TEST_CASE("a peer that is not root, berthd's user or in its group is refused",
          "[daemon][api][bad-input]") {
  berthd_process d;
  // The socket is 0660 root: the file mode alone keeps others out. Open it
  // up so the connection gets as far as berthd's SO_PEERCRED check.
  REQUIRE(::chmod(d.socket().c_str(), 0666) == 0);
  auto parent = std::filesystem::path(d.state()).parent_path().string();
  REQUIRE(::chmod(parent.c_str(), 0755) == 0);
  REQUIRE(::chmod(d.state().c_str(), 0755) == 0);
  pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    try {
      api_client c(d.address());
      auto v = c.berth().versionRequest();
      v.initReq();
      c.send(v);
      ::_exit(1);  // answered: not refused
    } catch (...) {
      ::_exit(0);  // the connection was closed on it
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(d.log(), Contains("refused API connection from uid 65534"));
  // root still gets in.
  api_client c(d.address());
  auto v = c.berth().versionRequest();
  v.initReq();
  CHECK(std::string(c.send(v).getResp().getVersion().cStr()) != "");
}
