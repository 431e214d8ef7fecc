// berthd through its Cap'n Proto API, with real shims and runc: the whole
// life of a task, events in order, and namespaces that do not see each other.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> topics_of(const std::vector<seen_event>& es, const std::string& id) {
  std::vector<std::string> out;
  for (auto& e : es)
    if (e.id == id) out.push_back(e.topic + (e.exec_id.empty() ? "" : ":" + e.exec_id));
  return out;
}

}  // namespace

TEST_CASE("a task lives its whole life through the API, events in order", "[daemon][api]") {
  berthd_process d;
  api_client c(d.address());
  c.subscribe("default");
  REQUIRE(c.create_container("", "life", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);

  std::string err;
  std::uint32_t pid = 0;
  auto task = c.run("default", "life", &err, &pid);
  REQUIRE(err == "");
  CHECK(pid > 0);
  CHECK(c.status("default", "life") == wire::TaskStatus::RUNNING);

  SECTION("exec, pause, resume, kill, wait, delete") {
    auto exec = task.execRequest();
    auto x = exec.initReq();
    x.setExecId("e1");
    auto args = x.initSpec().initArgs(3);
    args.set(0, "sh");
    args.set(1, "-c");
    args.set(2, "exit 3");
    REQUIRE(error_of(c.send(exec).getResp()) == "");
    auto start = task.startRequest();
    start.initReq().setExecId("e1");
    REQUIRE(error_of(c.send(start).getResp()) == "");
    auto wait_exec = task.waitRequest();
    wait_exec.initReq().setExecId("e1");
    auto exec_done_response = c.send(wait_exec);
    auto exec_done = exec_done_response.getResp();
    REQUIRE(error_of(exec_done) == "");
    CHECK(exec_done.getStatus().getCode() == 3);

    auto pause = task.pauseRequest();
    pause.initReq();
    REQUIRE(error_of(c.send(pause).getResp()) == "");
    CHECK(c.status("default", "life") == wire::TaskStatus::PAUSED);
    // Paused: pausing again is refused, naming task, state and operation.
    auto pause_again = task.pauseRequest();
    pause_again.initReq();
    CHECK(error_of(c.send(pause_again).getResp()) ==
          "cannot pause task default/life: it is paused");

    auto resume = task.resumeRequest();
    resume.initReq();
    REQUIRE(error_of(c.send(resume).getResp()) == "");
    CHECK(c.status("default", "life") == wire::TaskStatus::RUNNING);

    auto kill = task.killRequest();
    kill.initReq().setSignal(9);
    REQUIRE(error_of(c.send(kill).getResp()) == "");
    auto wait = task.waitRequest();
    wait.initReq();
    auto done_response = c.send(wait);
    auto done = done_response.getResp();
    REQUIRE(error_of(done) == "");
    CHECK(done.getStatus().getCode() == 137);
    CHECK(done.getStatus().getSignal() == 9);
    CHECK(c.status("default", "life") == wire::TaskStatus::STOPPED);

    auto del = task.deleteRequest();
    del.initReq();
    auto deleted_response = c.send(del);
    auto deleted = deleted_response.getResp();
    REQUIRE(error_of(deleted) == "");
    CHECK(deleted.getStatus().getCode() == 137);
    std::string gone;
    c.status("default", "life", &gone);
    CHECK(gone == "task default/life not found");
    // The old capability now answers not_found too.
    auto state = task.stateRequest();
    state.initReq();
    CHECK_THAT(error_of(c.send(state).getResp()), Contains("not found"));

    auto rm = c.berth().deleteContainerRequest();
    rm.initReq().setId("life");
    REQUIRE(error_of(c.send(rm).getResp()) == "");

    REQUIRE(c.pump_until([&] {
      auto t = topics_of(c.events, "life");
      return !t.empty() && t.back() == "/containers/delete";
    }));
    auto t = topics_of(c.events, "life");
    std::vector<std::string> want = {
        "/containers/create",   "/tasks/create",          "/tasks/start",
        "/tasks/exec-added:e1", "/tasks/exec-started:e1", "/tasks/exit:e1",
        "/tasks/paused",        "/tasks/resumed",         "/tasks/exit",
        "/tasks/delete",        "/containers/delete"};
    CHECK(t == want);
    for (size_t i = 1; i < c.events.size(); ++i)
      CHECK(c.events[i].sequence > c.events[i - 1].sequence);
    CHECK(shims_left(d.state()).empty());
  }

  SECTION("a task that exits on its own is stopped with its exit code") {
    REQUIRE(c.create_container("", "short", d.rootfs(), {"sh", "-c", "exit 7"}) ==
            wire::ErrorCode::OK);
    auto t = c.run("default", "short", &err);
    REQUIRE(err == "");
    auto wait = t.waitRequest();
    wait.initReq();
    CHECK(c.send(wait).getResp().getStatus().getCode() == 7);
    CHECK(c.status("default", "short") == wire::TaskStatus::STOPPED);
    c.remove("default", "short");
    c.remove("default", "life");
  }
}

TEST_CASE("namespaces do not see each other's objects", "[daemon][api]") {
  berthd_process d;
  api_client c(d.address());
  // The same id in two namespaces: two containers, two running tasks.
  REQUIRE(c.create_container("a", "web", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  REQUIRE(c.create_container("b", "web", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  REQUIRE(c.create_container("b", "only-b", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  std::string err;
  c.run("a", "web", &err);
  REQUIRE(err == "");
  c.run("b", "web", &err);
  REQUIRE(err == "");

  auto list = c.berth().listContainersRequest();
  list.initReq().setNamespace("a");
  auto listed_response = c.send(list);
  auto listed = listed_response.getResp().getContainers();
  REQUIRE(listed.size() == 1);
  CHECK(std::string(listed[0].getId().cStr()) == "web");
  CHECK(c.list_tasks("a").size() == 1);
  CHECK(c.list_tasks("b").size() == 1);
  CHECK(c.list_tasks("default").empty());

  auto get = c.berth().getContainerRequest();
  get.initReq().setNamespace("a");
  get.getReq().setId("only-b");
  CHECK(error_of(c.send(get).getResp()) == "container a/only-b not found");
  auto ct = c.berth().createTaskRequest();
  ct.initReq().setNamespace("a");
  ct.getReq().setId("only-b");
  CHECK(error_of(c.send(ct).getResp()) == "container a/only-b not found");

  // A namespace with containers cannot go.
  auto rmns = c.berth().deleteNamespaceRequest();
  rmns.initReq().setName("b");
  CHECK_THAT(error_of(c.send(rmns).getResp()), Contains("b"));

  c.remove("a", "web");
  c.remove("b", "web");
  c.remove("b", "only-b");
  auto rmns_again = c.berth().deleteNamespaceRequest();
  rmns_again.initReq().setName("b");
  CHECK(error_of(c.send(rmns_again).getResp()) == "");
  CHECK(shims_left(d.state()).empty());
}

TEST_CASE("the API socket is 0660 and owned by root, as berthd made it", "[daemon][api]") {
  berthd_process d;
  struct stat st {};
  REQUIRE(::stat(d.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  // Read as berthd left it: the test changes nothing before it looks.
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(st.st_uid == 0);
  CHECK(st.st_gid == 0);
}
