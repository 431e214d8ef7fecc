// The task's Cap'n Proto face (task_service) over a fake host, called
// through a local capability: what the daemon receives for the task's
// answers — error codes and messages in the response, never an exception.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>

#include "schema/shim.capnp.h"
#include "shim/core/task_service.hpp"
#include "tests/unit/shim/core/task_fixture.hpp"

using berth::test::kFakePid;
using berth::test::task_fixture;
using berth::wire::ErrorCode;
namespace wire = berth::wire;

namespace {

wire::shim::Task::Client serve(task_fixture& f) {
  return kj::heap<berth::shim::task_service>(f.task);
}

// A create request as berthd sends it: this task, this bundle, one overlay.
capnp::Request<wire::shim::Task::CreateParams, wire::shim::Task::CreateResults> create_request(
    wire::shim::Task::Client& client, const std::string& id, const std::string& bundle) {
  auto req = client.createRequest();
  auto r = req.initReq();
  r.setId(id);
  r.setBundle(bundle);
  auto mounts = r.initRootfs(1);
  mounts[0].setType("overlay");
  mounts[0].setSource("overlay");
  auto options = mounts[0].initOptions(2);
  options.set(0, "ro");
  options.set(1, "lowerdir=/l");
  return req;
}

}  // namespace

TEST_CASE("over the wire: create answers the pid; the rootfs is mounted as asked",
          "[unit][shim][task][service]") {
  task_fixture f;
  auto client = serve(f);
  auto resp_answer = f.await(create_request(client, "web", f.bundle).send());
  auto resp = resp_answer.getResp();
  CHECK_FALSE(resp.hasError());
  CHECK(resp.getPid() == static_cast<uint32_t>(kFakePid));
  REQUIRE(f.mounts.mounted_on(f.rootfs) == 1);
  CHECK(f.mounts.table[f.rootfs][0].flags == MS_RDONLY);
  CHECK(f.mounts.table[f.rootfs][0].data == "lowerdir=/l");

  auto state = client.stateRequest();
  auto st_answer = f.await(state.send());
  auto st = st_answer.getResp();
  CHECK(st.getId() == "web");
  CHECK(st.getStatus() == wire::TaskStatus::CREATED);
}

TEST_CASE("over the wire: a create for another task is refused before anything is mounted",
          "[unit][shim][task][service]") {
  task_fixture f;
  auto client = serve(f);
  auto resp_answer = f.await(create_request(client, "db", f.bundle).send());
  auto resp = resp_answer.getResp();
  REQUIRE(resp.hasError());
  CHECK(resp.getError().getCode() == ErrorCode::INVALID_ARGUMENT);
  CHECK(resp.getError().getMessage() == "cannot create task db: this shim serves task web");
  CHECK(f.mounts.table.empty());
  CHECK(f.runtime.calls.empty());
}

TEST_CASE("over the wire: the runtime's failure reaches the daemon in the error field",
          "[unit][shim][task][service]") {
  task_fixture f;
  auto client = serve(f);
  f.runtime.failures["create"] = "runc create failed: unable to find user nobody";
  auto resp_answer = f.await(create_request(client, "web", f.bundle).send());
  auto resp = resp_answer.getResp();
  REQUIRE(resp.hasError());
  CHECK(resp.getError().getCode() == ErrorCode::INTERNAL);
  CHECK(resp.getError().getMessage() ==
        "cannot create task web: runc create failed: unable to find user nobody");
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
}

TEST_CASE("over the wire: kill, wait and delete of the init process",
          "[unit][shim][task][service]") {
  task_fixture f;
  auto client = serve(f);
  auto created = f.await(create_request(client, "web", f.bundle).send());
  REQUIRE_FALSE(created.getResp().hasError());
  auto started = f.await(client.startRequest().send());
  REQUIRE_FALSE(started.getResp().hasError());

  auto del_answer = f.await(client.deleteRequest().send());
  auto del = del_answer.getResp();
  REQUIRE(del.hasError());
  CHECK(del.getError().getCode() == ErrorCode::FAILED_PRECONDITION);
  CHECK(del.getError().getMessage() == "cannot delete task web: it is running");

  auto kill = client.killRequest();
  kill.initReq().setSignal(SIGKILL);
  auto killed = f.await(kill.send());
  CHECK_FALSE(killed.getResp().hasError());
  REQUIRE(f.runtime.calls_of("kill").size() == 1);
  CHECK(f.runtime.calls_of("kill")[0].args == std::vector<std::string>{"web", "9", "one"});

  auto wait = client.waitRequest().send().eagerlyEvaluate(nullptr);
  f.task.reaped(kFakePid, berth::test::killed_by(SIGKILL));
  auto waited_answer = f.await(kj::mv(wait));
  auto waited = waited_answer.getResp();
  CHECK_FALSE(waited.hasError());
  CHECK(waited.getStatus().getCode() == 137);
  CHECK(waited.getStatus().getSignal() == SIGKILL);

  auto deleted_answer = f.await(client.deleteRequest().send());
  auto deleted = deleted_answer.getResp();
  CHECK_FALSE(deleted.hasError());
  CHECK(deleted.getPid() == static_cast<uint32_t>(kFakePid));
  CHECK(deleted.getStatus().getCode() == 137);
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
}
