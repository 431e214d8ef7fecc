// The same lifecycle through crun instead of runc. crun 1.8 refuses this
// machine's hybrid cgroups, so the runtime is tests/support/crun-private-ns,
// which runs crun in a private mount namespace (the host stays untouched).
#include <signal.h>

#include <string>

#include "shim_checks.hpp"
#include "tests/support/machine.hpp"
#include "tests/support/skip.hpp"

using namespace berth;
using namespace berth::test;

namespace {

// Why crun tests cannot run here, or empty.
std::string crun_missing() {
  if (!have_program("crun")) return "crun is not installed";
  if (!have_program("unshare")) return "unshare (util-linux) is not installed";
  return "";
}

std::string crun_runtime() {
  return source_path("tests/support/crun-private-ns");
}

bool crun_knows(const std::string& id) {
  return run_command({crun_runtime(), "state", id}).exit_code == 0;
}

}  // namespace

TEST_CASE("crun runs a container through create, start, wait and delete", "[shim][crun]") {
  if (auto why = crun_missing(); !why.empty()) {
    BERTH_SKIP(why);
  }
  REQUIRE(crun_runtime().front() == '/');
  test_shim s("crun-life", {.args = {"sh", "-c", "echo out; echo err >&2; exit 3"}},
              crun_runtime());
  shim_client c(s.address);
  auto created = rpc::create(c, s.args.id, s.args.bundle,
                             {.out = s.dir / "out.txt", .err = s.dir / "err.txt"});
  REQUIRE_OK(created.getResp());
  CHECK(created.getResp().getPid() > 0);
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::CREATED);
  CHECK(crun_knows(s.args.id));

  auto started = rpc::start(c);
  REQUIRE_OK(started.getResp());
  CHECK(started.getResp().getPid() == created.getResp().getPid());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 3);
  CHECK(read_text(s.dir / "out.txt") == "out\n");
  CHECK(read_text(s.dir / "err.txt") == "err\n");

  auto deleted = rpc::remove(c);
  REQUIRE_OK(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 3);
  // crun's delete may still run (the shim answers first); the shim lives
  // until it has ended.
  int pid = shim_pid(s.args.bundle);
  REQUIRE_OK(rpc::shutdown(c).getResp());
  CHECK(eventually([&] { return !process_alive(pid); }));
  CHECK_FALSE(crun_knows(s.args.id));
}

TEST_CASE("crun: exec, pause, kill and signals", "[shim][crun]") {
  if (auto why = crun_missing(); !why.empty()) {
    BERTH_SKIP(why);
  }
  test_shim s("crun-ops", {.args = {"sleep", "30"}}, crun_runtime());
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  REQUIRE_OK(rpc::exec(c, "e1", {"sh", "-c", "echo from-exec; exit 4"}, {.out = s.dir / "e1.txt"})
                 .getResp());
  REQUIRE_OK(rpc::start(c, "e1").getResp());
  auto e1 = rpc::wait(c, "e1");
  REQUIRE_OK(e1.getResp());
  CHECK(e1.getResp().getStatus().getCode() == 4);
  CHECK(read_text(s.dir / "e1.txt") == "from-exec\n");

  REQUIRE_OK(rpc::pause(c).getResp());
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::PAUSED);
  REQUIRE_OK(rpc::resume(c).getResp());

  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  CHECK(waited.getResp().getStatus().getSignal() == SIGKILL);
  CHECK_ERROR(rpc::kill(c, SIGKILL).getResp(), NOT_FOUND,
              "cannot kill task crun-ops: process already finished");
  REQUIRE_OK(rpc::remove(c).getResp());
  CHECK(eventually([&] { return !crun_knows(s.args.id); }));
}

TEST_CASE("crun: a process that cannot be executed fails with crun's reason", "[shim][crun]") {
  if (auto why = crun_missing(); !why.empty()) {
    BERTH_SKIP(why);
  }
  test_shim s("crun-nosuch", {.args = {"nosuch"}}, crun_runtime());
  shim_client c(s.address);
  auto err = error_of(rpc::create(c, s.args.id, s.args.bundle).getResp());
  INFO(err.message);
  CHECK(err.code == wire::ErrorCode::INTERNAL);
  CHECK_THAT(err.message, Catch::Matchers::StartsWith("cannot create task crun-nosuch: crun"));
  CHECK_THAT(err.message, Catch::Matchers::Contains("executable file `nosuch` not found"));
  CHECK_FALSE(crun_knows(s.args.id));
  CHECK_ERROR(rpc::state(c).getResp(), NOT_FOUND, "task crun-nosuch was not created");
  // The shim serves on.
  auto req = c.task().connectRequest();
  req.initReq();
  CHECK(answer(c, req.send(), "connect").getResp().getShimPid() > 0);
}
