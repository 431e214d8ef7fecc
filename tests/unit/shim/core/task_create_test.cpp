// shim/core's task over a fake host: create mounts the rootfs and then runs
// the runtime's create; every failure leaves nothing mounted and nothing
// created; start runs only on a created task. No root, no runc.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>

#include "tests/unit/shim/core/task_fixture.hpp"

using berth::shim::status;
using berth::test::kFakePid;
using berth::test::task_fixture;
using berth::wire::ErrorCode;

namespace {

const std::vector<berth::shim::mount_spec> kOverlay = {
    {"overlay", "overlay", {"lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w", "ro"}}};

// Where `line` sits in the journal; the journal's size when it is not there.
size_t position(const berth::test::journal& log, const std::string& prefix) {
  auto it = std::find_if(log.begin(), log.end(),
                         [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  return static_cast<size_t>(it - log.begin());
}

}  // namespace

TEST_CASE("create mounts the rootfs, then runs the runtime's create", "[unit][shim][task]") {
  task_fixture f;
  pid_t pid = 0;
  auto err = f.create(kOverlay, &pid);
  REQUIRE_FALSE(err);

  // The mount the daemon asked for, with ro as a flag and the rest as data.
  REQUIRE(f.mounts.mounted_on(f.rootfs) == 1);
  const auto& m = f.mounts.table[f.rootfs].front();
  CHECK(m.type == "overlay");
  CHECK(m.flags == MS_RDONLY);
  CHECK(m.data == "lowerdir=/l1:/l2,upperdir=/u,workdir=/w");
  // Mounted before runc looks at the bundle.
  CHECK(position(f.log, "mount overlay") < position(f.log, "runtime create"));

  auto creates = f.runtime.calls_of("create");
  REQUIRE(creates.size() == 1);
  CHECK(creates[0].args == std::vector<std::string>{"web", f.bundle, f.bundle + "/init.pid", ""});
  // The pid comes from the runtime's pid file, and the daemon hears of it.
  CHECK(pid == kFakePid);
  CHECK(f.state().st == status::created);
  CHECK(f.state().pid == kFakePid);
  REQUIRE(f.run_until([&] { return f.count("/tasks/create") == 1; }));
  CHECK(f.of_topic("/tasks/create")[0].pid == static_cast<uint32_t>(kFakePid));
}

TEST_CASE("a failed runtime create unmounts the rootfs and says why in the runtime's words",
          "[unit][shim][task]") {
  task_fixture f;
  f.runtime.failures["create"] = "runc create failed: container_linux.go:380: no such file";
  auto err = f.create(kOverlay);
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message ==
        "cannot create task web: runc create failed: container_linux.go:380: no such file");
  // No leaked mount, and unmounted only after the runtime had failed.
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  CHECK(position(f.log, "runtime create") < position(f.log, "unmount " + f.rootfs));
  // Nothing was left for a force delete: no pid was written.
  CHECK(f.runtime.calls_of("delete-now").empty());
  // The task is not half there: state says it was never created, and a new
  // create may try again.
  berth::shim::process_view v;
  auto st = f.task.state("", v);
  REQUIRE(st);
  CHECK(st->code == ErrorCode::NOT_FOUND);
  CHECK(st->message == "task web was not created");
  f.runtime.failures.clear();
  CHECK_FALSE(f.create(kOverlay));
  CHECK(f.mounts.mounted_on(f.rootfs) == 1);
  f.settle();
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create"});
}

TEST_CASE("a runtime that created the container but sent no terminal is force-deleted, unmounted",
          "[unit][shim][task]") {
  task_fixture f;
  berth::test::write_config(f.bundle, true);
  berth::shim::stdio_paths tty;
  tty.terminal = true;
  pid_t pid = 0;
  // The fake runtime never connects to the console socket: the shim must not
  // wait for it (its one thread would hang), and must not leave the
  // container, which runc did create, behind.
  auto err = f.await(f.task.create(tty, kOverlay, "", pid));
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK_THAT(err->message, Catch::StartsWith("cannot create task web: no terminal was received "
                                             "from the runtime"));
  auto creates = f.runtime.calls_of("create");
  REQUIRE(creates.size() == 1);
  CHECK_FALSE(creates[0].args[3].empty());  // it was given a console socket
  CHECK(f.runtime.calls_of("delete-now").size() == 1);
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  CHECK(access(creates[0].args[3].c_str(), F_OK) != 0);  // the socket is gone too
}

TEST_CASE("a runtime that succeeds without writing a pid fails the create, unmounted",
          "[unit][shim][task]") {
  task_fixture f;
  f.runtime.write_pid = false;
  auto err = f.create(kOverlay);
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message ==
        "cannot create task web: runtime wrote no pid to " + f.bundle + "/init.pid");
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
}

TEST_CASE("a mount that fails undoes the ones before it and never runs the runtime",
          "[unit][shim][task]") {
  task_fixture f;
  f.mounts.failures["/data/upper"] = EPERM;
  auto err = f.create({{"bind", "/data/lower", {"rbind"}}, {"bind", "/data/upper", {"bind"}}});
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message == "cannot create task web: cannot mount bind /data/upper on " + f.rootfs +
                            ": Operation not permitted");
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  CHECK(f.runtime.calls.empty());
}

TEST_CASE("create is refused when the task exists or the bundle disagrees, before any mount",
          "[unit][shim][task]") {
  SECTION("a second create") {
    task_fixture f;
    REQUIRE_FALSE(f.create());
    auto err = f.create(kOverlay);
    REQUIRE(err);
    CHECK(err->code == ErrorCode::ALREADY_EXISTS);
    CHECK(err->message == "cannot create task web: it was already created");
    CHECK(f.runtime.calls_of("create").size() == 1);
  }
  SECTION("a terminal the config does not have") {
    task_fixture f;
    pid_t pid = 0;
    berth::shim::stdio_paths tty;
    tty.terminal = true;
    auto err = f.await(f.task.create(tty, kOverlay, "", pid));
    REQUIRE(err);
    CHECK(err->code == ErrorCode::INVALID_ARGUMENT);
    CHECK(err->message ==
          "cannot create task web: config.json has process.terminal=false but "
          "the request asks for a terminal");
  }
  SECTION("a checkpoint to restore") {
    task_fixture f;
    pid_t pid = 0;
    auto err = f.await(f.task.create({}, kOverlay, "/var/ckpt", pid));
    REQUIRE(err);
    CHECK(err->code == ErrorCode::UNAVAILABLE);
  }
  SECTION("a stdout path that is not absolute") {
    task_fixture f;
    pid_t pid = 0;
    berth::shim::stdio_paths rel;
    rel.out = "out.log";
    auto err = f.await(f.task.create(rel, kOverlay, "", pid));
    REQUIRE(err);
    CHECK(err->code == ErrorCode::INVALID_ARGUMENT);
    CHECK(err->message ==
          "cannot create task web: invalid stdout path \"out.log\": must be absolute");
    // The mount came before the stdio was opened: it is gone again.
    CHECK(f.mounts.mounted_on(f.rootfs) == 0);
    CHECK(f.runtime.calls.empty());
  }
}

TEST_CASE("start runs the runtime's start on a created task and publishes it",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create());
  pid_t pid = 0;
  REQUIRE_FALSE(f.start("", &pid));
  CHECK(pid == kFakePid);
  CHECK(f.runtime.calls_of("start").size() == 1);
  CHECK(f.state().st == status::running);
  REQUIRE(f.run_until([&] { return f.count("/tasks/start") == 1; }));
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start"});
}

TEST_CASE("start is refused before create and on a running task, without asking the runtime",
          "[unit][shim][task]") {
  task_fixture f;
  auto before = f.start();
  REQUIRE(before);
  CHECK(before->code == ErrorCode::NOT_FOUND);
  CHECK(before->message == "task web was not created");
  f.running();
  auto again = f.start();
  REQUIRE(again);
  CHECK(again->code == ErrorCode::FAILED_PRECONDITION);
  CHECK_THAT(again->message, Catch::Contains("running"));
  CHECK(f.runtime.calls_of("start").size() == 1);
}

TEST_CASE("a failed runtime start leaves the task created and passes the reason on",
          "[unit][shim][task]") {
  task_fixture f;
  REQUIRE_FALSE(f.create());
  f.runtime.failures["start"] = "runc start failed: cannot start a container that has stopped";
  auto err = f.start();
  REQUIRE(err);
  CHECK(err->code == ErrorCode::INTERNAL);
  CHECK(err->message ==
        "cannot start task web: runc start failed: cannot start a container that has stopped");
  CHECK(f.state().st == status::created);
  f.settle();
  CHECK(f.count("/tasks/start") == 0);
}

TEST_CASE("create with start runs one runtime process and leaves the task running",
          "[unit][shim][task]") {
  task_fixture f;
  pid_t pid = 0;
  REQUIRE_FALSE(f.await(f.task.create({}, kOverlay, "", pid, {}, /*start=*/true)));
  CHECK(f.runtime.calls_of("create").empty());
  CHECK(f.runtime.calls_of("start").empty());
  auto runs = f.runtime.calls_of("run");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].args == std::vector<std::string>{"web", f.bundle, f.bundle + "/init.pid", ""});
  CHECK(position(f.log, "mount overlay") < position(f.log, "runtime run"));
  CHECK(pid == kFakePid);
  CHECK(f.state().st == status::running);
  REQUIRE(f.run_until([&] { return f.count("/tasks/start") == 1; }));
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start"});
  // Started already: a start of init is refused as for any running task.
  CHECK(f.start());
}

TEST_CASE("create with start: an exit reaped before the runtime returned comes after the start",
          "[unit][shim][task]") {
  task_fixture f;
  f.runtime.held.insert("run");
  pid_t pid = 0;
  auto create = f.task.create({}, {}, "", pid, {}, /*start=*/true).eagerlyEvaluate(nullptr);
  // `true`: it ran and ended before runc run --detach returned.
  f.task.reaped(kFakePid, berth::test::exited_with(0));
  REQUIRE(f.runtime.release("run"));
  REQUIRE_FALSE(f.await(kj::mv(create)));
  REQUIRE(f.run_until([&] { return f.count("/tasks/exit") == 1; }));
  CHECK(f.topics() == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"});
  CHECK(f.state().st == status::stopped);
  CHECK(f.state().exit->code == 0);
}

TEST_CASE("create with start that the runtime refuses unmounts and leaves no task",
          "[unit][shim][task]") {
  task_fixture f;
  f.runtime.failures["run"] = "exec: \"nosuch\": executable file not found in $PATH";
  pid_t pid = 0;
  auto err = f.await(f.task.create({}, kOverlay, "", pid, {}, /*start=*/true));
  REQUIRE(err);
  CHECK(err->message.find("cannot create task web: ") == 0);
  CHECK(err->message.find("executable file not found") != std::string::npos);
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);
  CHECK(f.count("/tasks/start") == 0);
}

TEST_CASE("create waits while the runtime still holds a container of the id, then runs",
          "[unit][shim][task]") {
  task_fixture f;
  // An earlier task of this id is still being deleted in the background.
  f.runtime.occupied.insert("web");
  pid_t pid = 0;
  auto create = f.task.create({}, kOverlay, "", pid).eagerlyEvaluate(nullptr);
  f.settle();
  CHECK(f.runtime.calls_of("create").empty());
  CHECK(f.mounts.mounted_on(f.rootfs) == 0);  // not before the old one is gone
  // A second create meanwhile is refused, as once created.
  pid_t other = 0;
  auto second = f.await(f.task.create({}, {}, "", other));
  REQUIRE(second);
  CHECK(second->code == ErrorCode::ALREADY_EXISTS);
  f.runtime.vacate("web");
  REQUIRE_FALSE(f.await(kj::mv(create)));
  CHECK(pid == kFakePid);
  CHECK(f.runtime.calls_of("create").size() == 1);
  CHECK(f.mounts.mounted_on(f.rootfs) == 1);
  CHECK(position(f.log, "runtime waits for web") < position(f.log, "runtime create"));
}
