// The runtime actor with a real berth-shim: starting shims (and failing to,
// clearly), connecting proxies, and cleaning up after a shim.
#include <catch2/catch.hpp>

#include <signal.h>

#include "daemon_fixture.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

TEST_CASE("the runtime starts a shim and answers its address", "[daemon][runtime]") {
  daemon_fixture f;
  task_dir t("addr");
  auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                    t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(address);
  CHECK_THAT(*address, StartsWith("unix:" + t.args.state_dir));
  int pid = shim_pid(t.args.state_dir);
  CHECK(process_alive(pid));

  // Starting again finds the live shim.
  auto again = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                  t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(again);
  CHECK(*again == *address);
  CHECK(shim_pid(t.args.state_dir) == pid);

  // Nothing was created: cleanup kills the shim and reports no recorded exit.
  auto st = f.ask<exit_status>(f.runtime, cleanup_shim_atom::value, t.args.ns, t.args.id,
                               t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(st);
  CHECK(st->code == 255);
  CHECK_THAT(st->reason, Contains("died before it recorded an exit status"));
  CHECK(eventually([&] { return !process_alive(pid); }));
}

TEST_CASE("a shim that cannot start is a clear error", "[daemon][runtime]") {
  SECTION("unknown shim binary") {
    daemon_fixture f(5s, "/nonexistent/berth-shim");
    task_dir t("nobin");
    auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                      t.args.bundle, t.args.state_dir);
    REQUIRE_FALSE(address);
    CHECK(error_code(address.error()) == errc::unavailable);
    auto msg = error_message(address.error());
    CHECK_THAT(msg, Contains("cannot start shim for task default/" + t.args.id));
    CHECK_THAT(msg, Contains("cannot run /nonexistent/berth-shim: No such file or directory"));
  }
  SECTION("bundle that does not exist") {
    daemon_fixture f;
    task_dir t("nobundle");
    auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                      t.dir / "missing", t.args.state_dir);
    REQUIRE_FALSE(address);
    CHECK(error_code(address.error()) == errc::failed_precondition);
    CHECK(error_message(address.error()) == "cannot start shim for task default/" + t.args.id +
                                                ": bundle " + (t.dir / "missing") +
                                                " does not exist or is not a directory");
  }
  SECTION("unknown OCI runtime") {
    daemon_config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    runtime_config rc;
    rc.shim_binary = build_path("shim/berth-shim");
    rc.runtime_binary = "no-such-runc";
    auto rt = spawn_runtime(sys, std::make_shared<io_thread>(), rc);
    task_dir t("norunc");
    caf::error err;
    self->request(rt, 60s, start_shim_atom::value, t.args.ns, t.args.id, t.args.bundle,
                  t.args.state_dir)
        .receive([](std::string&) {}, [&](caf::error& e) { err = e; });
    CHECK(error_code(err) == errc::failed_precondition);
    CHECK_THAT(error_message(err), Contains("unknown runtime \"no-such-runc\""));
    self->send_exit(rt, caf::exit_reason::user_shutdown);
  }
  SECTION("an id that is not an identifier") {
    daemon_fixture f;
    task_dir t("badid");
    auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns,
                                      std::string("../escape"), t.args.bundle, t.args.state_dir);
    REQUIRE_FALSE(address);
    CHECK(error_code(address.error()) == errc::invalid_argument);
    CHECK_THAT(error_message(address.error()), Contains("../escape"));
  }
}

TEST_CASE("a proxy without a shim answers unavailable", "[daemon][proxy]") {
  daemon_fixture f(500ms);
  temp_dir dir("berth-daemon-test");
  auto proxy = spawn_shim_proxy(f.sys, f.io, {"default", "ghost", "unix:" + dir / "no.sock", 500ms},
                                f.sink());
  f.proxies.push_back(proxy);

  auto before = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_FALSE(before);
  CHECK(error_code(before.error()) == errc::unavailable);
  CHECK(error_message(before.error()) ==
        "shim for task default/ghost is unavailable (state): not connected (send shim_connect "
        "first)");

  auto info = f.ask<shim_info>(proxy, shim_connect{});
  REQUIRE_FALSE(info);
  CHECK(error_code(info.error()) == errc::unavailable);
  CHECK_THAT(error_message(info.error()),
             Contains("shim for task default/ghost is unavailable (connect): cannot connect to "
                      "unix:" +
                      dir / "no.sock"));

  // The connect failure is remembered for the calls after it.
  auto after = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_FALSE(after);
  CHECK_THAT(error_message(after.error()), Contains("cannot connect to"));

  // The runtime's connect answers the same error and spawns no lasting proxy.
  auto via_runtime =
      f.ask<shim_proxy_actor>(f.runtime, connect_shim_atom::value, std::string("default"),
                              std::string("ghost"), "unix:" + dir / "no.sock", f.sink());
  REQUIRE_FALSE(via_runtime);
  CHECK(error_code(via_runtime.error()) == errc::unavailable);
}
