// Exit statuses as a caller sees them (exit codes, signals, exits nobody
// waited for yet), and what a shim leaves behind once it shut down: no
// process, no zombie, no socket.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// The process (init, or the exec `exec_id`) is stopped within 30 s: its
// exit was reaped with nobody waiting for it.
bool stopped_within(shim_client& c, const std::string& exec_id) {
  return eventually(
      [&] { return rpc::state(c, exec_id).getResp().getStatus() == wire::TaskStatus::STOPPED; },
      30000);
}

}  // namespace

TEST_CASE("a process that exits before anyone waits still reports its status",
          "[shim][runc][exit]") {
  test_shim s("early", {.args = {"true"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  // `true` is gone and reaped before the wait arrives (however loaded the machine).
  REQUIRE(stopped_within(c, ""));
  auto st = rpc::state(c);
  REQUIRE_OK(st.getResp());
  CHECK(st.getResp().getStatus() == wire::TaskStatus::STOPPED);
  CHECK(st.getResp().getExitStatus().getCode() == 0);
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  CHECK(waited.getResp().getStatus().getSignal() == 0);
  CHECK(waited.getResp().getStatus().getExitedAt() > 0);
  // Any number of waiters get the same answer.
  auto again = rpc::wait(c);
  CHECK(again.getResp().getStatus().getExitedAt() == waited.getResp().getStatus().getExitedAt());
  auto deleted = rpc::remove(c);
  REQUIRE_OK(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 0);
}

TEST_CASE("exit 3 reports 3, even when waited for late", "[shim][runc][exit]") {
  test_shim s("three", {.args = {"sh", "-c", "exit 3"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE(stopped_within(c, ""));  // the wait comes late
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 3);
  CHECK(waited.getResp().getStatus().getSignal() == 0);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("SIGKILL reports 137 and signal 9 to every waiter", "[shim][runc][exit]") {
  test_shim s("killed", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  // A wait sent before start resolves once the process exits.
  auto early_req = c.task().waitRequest();
  early_req.initReq();
  auto early = early_req.send();
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  CHECK(waited.getResp().getStatus().getSignal() == SIGKILL);
  auto first = early.wait(c.wait_scope());
  REQUIRE_OK(first.getResp());
  CHECK(first.getResp().getStatus().getCode() == 137);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("kill --all reaches every process of the container", "[shim][runc][exit]") {
  test_shim s("kill-all", {.args = {"sh", "-c", "sleep 30 & sleep 30 & wait"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL, "", true).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("an exec that exits before anyone waits reports its status", "[shim][runc][exit]") {
  test_shim s("exec-early", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::exec(c, "quick", {"sh", "-c", "exit 4"}).getResp());
  REQUIRE_OK(rpc::start(c, "quick").getResp());
  CHECK(stopped_within(c, "quick"));
  auto waited = rpc::wait(c, "quick");
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 4);
  auto deleted = rpc::remove(c, "quick");
  REQUIRE_OK(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 4);
  CHECK_ERROR(rpc::state(c, "quick").getResp(), NOT_FOUND, "exec quick of task exec-early");
  // Init is untouched by its exec's end.
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a shim that shut down leaves no process, zombie or socket", "[shim][runc][exit]") {
  test_shim s("leaks", {.args = {"sh", "-c", "echo done; sleep 30"}});
  shim_client c(s.address);
  int pid = shim_pid(s.args.bundle);
  REQUIRE(process_alive(pid));
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::exec(c, "side", {"true"}).getResp());
  REQUIRE_OK(rpc::start(c, "side").getResp());
  REQUIRE_OK(rpc::wait(c, "side").getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  // The container, its exec and every runc the shim ran are reaped.
  CHECK(eventually([&] { return zombie_children(pid).empty(); }));
  REQUIRE_OK(rpc::remove(c, "side").getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
  // runc's delete runs after the answer: between its exit and the shim's
  // reaping it is briefly a zombie (seen under load), never for long.
  CHECK(eventually([&] { return zombie_children(pid).empty(); }));
  // runc's delete may still run (the shim answers first).
  CHECK(eventually([&] { return !runc_knows(s.args.id); }));

  REQUIRE_OK(rpc::shutdown(c).getResp());
  CHECK(eventually([&] { return !process_alive(pid); }));
  const std::string sock = s.address.substr(5);
  CHECK(eventually([&] { return !file_exists(sock); }));
  CHECK_FALSE(file_exists(s.args.bundle + "/shim.pid"));
  CHECK(read_text(s.dir / "out.txt") == "done\n");
}

TEST_CASE("shutdown refuses while the container lives, unless told now", "[shim][runc][exit]") {
  test_shim s("busy", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  int pid = shim_pid(s.args.bundle);
  auto created = rpc::create(c, s.args.id, s.args.bundle);
  REQUIRE_OK(created.getResp());
  int init = static_cast<int>(created.getResp().getPid());
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK_ERROR(rpc::shutdown(c).getResp(), FAILED_PRECONDITION,
              "cannot shut down the shim of task busy: processes are still alive");
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);

  REQUIRE_OK(rpc::shutdown(c, true).getResp());
  CHECK(eventually([&] { return !process_alive(pid); }));
  CHECK(eventually([&] { return !process_alive(init); }));
  CHECK_FALSE(runc_knows(s.args.id));
}

TEST_CASE("a created task that is deleted without start is gone", "[shim][runc][exit]") {
  test_shim s("never-run", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto created = rpc::create(c, s.args.id, s.args.bundle);
  REQUIRE_OK(created.getResp());
  int init = static_cast<int>(created.getResp().getPid());
  CHECK(process_alive(init));
  auto deleted = rpc::remove(c);
  REQUIRE_OK(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 137);
  CHECK(eventually([&] { return !process_alive(init); }));
  CHECK_FALSE(runc_knows(s.args.id));
  int pid = shim_pid(s.args.bundle);
  REQUIRE_OK(rpc::shutdown(c).getResp());
  CHECK(eventually([&] { return !process_alive(pid); }));
}
