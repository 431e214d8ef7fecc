// What the OCI runtime and the kernel answer through the shim: runc's own
// reason when it fails, CRIU's when checkpoint cannot work, and the cgroup's
// numbers for stats and update.
#include <signal.h>

#include <string>

#include "shim_checks.hpp"
#include "tests/support/machine.hpp"
#include "tests/support/skip.hpp"

using namespace berth;
using namespace berth::test;

namespace {

capnp::Response<Task::StatsResults> stats(shim_client& c) {
  auto req = c.task().statsRequest();
  req.initReq();
  return answer(c, req.send(), "stats");
}

capnp::Response<Task::UpdateResults> update_memory(shim_client& c, int64_t bytes) {
  auto req = c.task().updateRequest();
  req.initReq().initResources().setMemoryLimit(bytes);
  return answer(c, req.send(), "update");
}

capnp::Response<Task::CheckpointResults> checkpoint(shim_client& c, const std::string& path) {
  auto req = c.task().checkpointRequest();
  auto r = req.initReq();
  r.setPath(path);
  r.setExit(false);
  return answer(c, req.send(), "checkpoint");
}

void stop_and_delete(shim_client& c) {
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
}

}  // namespace

TEST_CASE("a process that cannot be executed fails with runc's own reason",
          "[shim][runc][runtime]") {
  test_shim s("nosuch", {.args = {"nosuch"}});
  shim_client c(s.address);
  auto created = rpc::create(c, s.args.id, s.args.bundle, {.err = s.dir / "err.txt"});
  auto err = error_of(created.getResp());
  INFO(err.message);
  CHECK(err.code == wire::ErrorCode::INTERNAL);
  CHECK_THAT(err.message, Catch::Matchers::StartsWith("cannot create task nosuch: runc create "
                                                      "failed: "));
  CHECK_THAT(err.message,
             Catch::Matchers::Contains("exec: \"nosuch\": executable file not found in $PATH"));
  // Nothing half-made stays: no container, no task.
  CHECK_FALSE(runc_knows(s.args.id));
  CHECK_ERROR(rpc::state(c).getResp(), NOT_FOUND, "task nosuch was not created");
  CHECK_ERROR(rpc::start(c).getResp(), NOT_FOUND, "task nosuch was not created");

  // The same shim serves a corrected bundle on the same connection.
  make_busybox_bundle(s.args.bundle, {.args = {"sh", "-c", "exit 5"}});
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 5);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("an exec that cannot be executed fails with runc's reason", "[shim][runc][runtime]") {
  test_shim s("exec-nosuch", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::exec(c, "bad", {"nosuch"}).getResp());
  auto started = rpc::start(c, "bad");
  auto err = error_of(started.getResp());
  INFO(err.message);
  CHECK(err.code == wire::ErrorCode::INTERNAL);
  CHECK_THAT(err.message, Catch::Matchers::StartsWith("cannot start exec bad of task exec-nosuch: "
                                                      "runc exec failed: "));
  CHECK_THAT(err.message, Catch::Matchers::Contains("executable file not found"));
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  // A good exec still runs.
  REQUIRE_OK(rpc::exec(c, "good", {"sh", "-c", "exit 2"}).getResp());
  REQUIRE_OK(rpc::start(c, "good").getResp());
  auto waited = rpc::wait(c, "good");
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 2);
  stop_and_delete(c);
}

TEST_CASE("checkpoint is unavailable and says why in CRIU's words", "[shim][runc][runtime]") {
  // install-deps installs criu; this case checks how its refusal is reported.
  REQUIRE(have_program("criu"));
  if (criu_runs_here()) BERTH_SKIP("CRIU runs on this kernel: no refusal to report");
  test_shim s("ckpt", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  CHECK_ERROR(checkpoint(c, s.dir / "image").getResp(), FAILED_PRECONDITION,
              "cannot checkpoint task ckpt: it is created");
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK_ERROR(checkpoint(c, "relative").getResp(), INVALID_ARGUMENT,
              "invalid checkpoint path \"relative\": must be absolute");

  auto resp = checkpoint(c, s.dir / "image");
  auto err = error_of(resp.getResp());
  INFO(err.message);
  CHECK(err.code == wire::ErrorCode::UNAVAILABLE);
  const std::string prefix = "cannot checkpoint task ckpt: runc checkpoint failed: ";
  REQUIRE_THAT(err.message, Catch::Matchers::StartsWith(prefix));
  const std::string reason = err.message.substr(prefix.size());
  CHECK_FALSE(reason.empty());
  // runc only says "criu failed"; CRIU's own words come from its log.
  const std::string says = "; CRIU says: ";
  auto at = err.message.find(says);
  REQUIRE(at != std::string::npos);
  CHECK(err.message.size() > at + says.size());
  // The container is untouched and the shim serves on.
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  stop_and_delete(c);
}

TEST_CASE("stats read the task's cgroup; update changes its limits", "[shim][runc][runtime]") {
  test_shim s("stats", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  auto before = stats(c);
  REQUIRE_OK(before.getResp());
  auto st = before.getResp().getStats();
  CHECK(st.getMemoryUsage() > 0);
  CHECK(st.getPidsCurrent() >= 1);

  constexpr int64_t limit = 64 * 1024 * 1024;
  REQUIRE_OK(update_memory(c, limit).getResp());
  auto after = stats(c);
  REQUIRE_OK(after.getResp());
  CHECK(after.getResp().getStats().getMemoryLimit() == static_cast<uint64_t>(limit));
  CHECK(after.getResp().getStats().getMemoryUsage() > 0);

  // An exec adds a process to the same cgroup.
  REQUIRE_OK(rpc::exec(c, "second", {"sleep", "30"}).getResp());
  REQUIRE_OK(rpc::start(c, "second").getResp());
  CHECK(stats(c).getResp().getStats().getPidsCurrent() >= 2);

  stop_and_delete(c);
  CHECK_ERROR(stats(c).getResp(), NOT_FOUND, "cannot stats task stats: it is deleted");
  CHECK_ERROR(update_memory(c, limit).getResp(), NOT_FOUND, "cannot update task stats");
}

TEST_CASE("stats and update refuse a stopped task", "[shim][runc][runtime]") {
  test_shim s("stats-stopped", {.args = {"true"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  CHECK_ERROR(stats(c).getResp(), FAILED_PRECONDITION,
              "cannot stats task stats-stopped: it is stopped");
  CHECK_ERROR(update_memory(c, 1 << 26).getResp(), FAILED_PRECONDITION,
              "cannot update task stats-stopped: it is stopped");
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("an update runc refuses carries runc's reason", "[shim][runc][runtime]") {
  test_shim s("bad-update", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  // Far below what the running container already uses.
  auto resp = update_memory(c, 4096);
  auto err = error_of(resp.getResp());
  INFO(err.message);
  CHECK(err.code == wire::ErrorCode::INTERNAL);
  CHECK_THAT(err.message,
             Catch::Matchers::StartsWith("cannot update task bad-update: runc update failed: "));
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  stop_and_delete(c);
}
