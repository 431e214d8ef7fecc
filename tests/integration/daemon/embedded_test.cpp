// berth's actors embedded in a test's own CAF actor system (berth.hpp), driven
// with typed messages through a scoped_actor: registry routing, an unknown
// runtime, and every task state against every operation. Real shims, runc.
#include <catch2/catch.hpp>

#include <signal.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/daemon/berth.hpp"
#include "actors/errors.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

struct embedded {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<io_thread> io = std::make_shared<io_thread>();
  temp_dir dir{"berth-embedded"};
  berth_system b;

  embedded() {
    add_berth_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    berth_config bc;
    bc.root = dir / "root";
    bc.state = dir / "state";
    bc.runtimes = default_runtimes(berthd_process::shim_binary(), bc.state);
    b = start_berth(*sys, io, bc);
    make_busybox_bundle(dir / "busybox");
  }
  ~embedded() {
    stop_berth(*sys, b);
    for (auto pid : shims_under(dir / "state")) ::kill(pid, SIGKILL);
  }
};

// The reply or the error's message, for one request.
template <class Reply, class Handle, class... Ts>
std::string ask(caf::scoped_actor& self, const Handle& h, Reply* out, Ts&&... xs) {
  std::string err;
  self->request(h, std::chrono::seconds(60), std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { *out = std::move(r); },
               [&](caf::error& e) { err = error_message(e); });
  return err;
}

template <class Handle, class... Ts>
std::string ask_void(caf::scoped_actor& self, const Handle& h, Ts&&... xs) {
  std::string err;
  self->request(h, std::chrono::seconds(60), std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& e) { err = error_message(e); });
  return err;
}

}  // namespace

TEST_CASE("the registry and a task, driven with typed messages in another actor system",
          "[daemon][embedded]") {
  embedded e;
  caf::scoped_actor self{*e.sys};

  container_create req;
  req.id = "emb";
  req.image = "busybox";
  req.runtime = "io.example.missing.v1";
  req.options.rootfs = e.dir / "busybox/rootfs";
  req.options.args = {"sleep", "1000"};
  container_record rec;
  CHECK(ask(self, e.b.registry(), &rec, req) ==
        "unknown runtime \"io.example.missing.v1\" for container default/emb; known runtimes: "
        "io.berth.crun.v1, io.berth.runc.v1");
  req.runtime = "";
  REQUIRE(ask(self, e.b.registry(), &rec, req) == "");
  CHECK(rec.runtime == "io.berth.runc.v1");
  CHECK(ask(self, e.b.registry(), &rec, req) == "container default/emb already exists");

  task_handle h;
  REQUIRE(ask(self, e.b.registry(), &h, task_create{"", "emb", {}, ""}) == "");
  auto t = h.task;
  std::uint32_t pid = 0;
  std::vector<process_info> procs;
  task_stats stats;
  deleted_process gone;
  task_info info;

  // created
  CHECK(ask_void(self, t, task_pause{}) == "cannot pause task default/emb: it is created");
  CHECK(ask_void(self, t, task_resume{}) == "cannot resume task default/emb: it is created");
  CHECK(ask_void(self, t, task_exec{"x", {"true"}, {}, "", {}, ""}) ==
        "cannot exec in task default/emb: it is created");
  CHECK(ask_void(self, t, task_checkpoint{"/tmp/cp", false}) ==
        "cannot checkpoint task default/emb: it is created");
  CHECK(ask(self, t, &pid, task_start{"x"}) ==
        "cannot start exec x of task default/emb: it is created");
  REQUIRE(ask(self, t, &pid, task_start{}) == "");

  // running
  REQUIRE(ask(self, t, &info, task_state{}) == "");
  CHECK(info.status == task_status::running);
  CHECK(ask(self, t, &pid, task_start{}) == "cannot start task default/emb: it is running");
  CHECK(ask_void(self, t, task_resume{}) == "cannot resume task default/emb: it is running");
  CHECK(ask(self, t, &gone, task_delete{}) ==
        "cannot delete task default/emb: it is running; kill it first, or delete with force");
  CHECK(ask(self, t, &procs, task_pids{}) == "");
  CHECK(!procs.empty());
  CHECK(ask(self, t, &stats, task_metrics{}) == "");
  CHECK(ask_void(self, t, task_exec{"e1", {"true"}, {}, "", {}, ""}) == "");
  CHECK(ask(self, t, &pid, task_start{"e1"}) == "");
  exit_status es;
  CHECK(ask(self, t, &es, task_wait{"e1"}) == "");
  CHECK(es.code == 0);
  REQUIRE(ask_void(self, t, task_pause{}) == "");

  // paused
  CHECK(ask_void(self, t, task_pause{}) == "cannot pause task default/emb: it is paused");
  CHECK(ask(self, t, &pid, task_start{}) == "cannot start task default/emb: it is paused");
  CHECK(ask_void(self, t, task_exec{"x", {"true"}, {}, "", {}, ""}) ==
        "cannot exec in task default/emb: it is paused");
  REQUIRE(ask_void(self, t, task_resume{}) == "");
  REQUIRE(ask_void(self, t, task_kill{"", 9, true}) == "");
  REQUIRE(ask(self, t, &es, task_wait{}) == "");
  CHECK(es.code == 137);

  // stopped
  for (auto* op : {"pause", "resume", "kill", "metrics"}) {
    std::string err;
    if (std::string(op) == "pause") err = ask_void(self, t, task_pause{});
    if (std::string(op) == "resume") err = ask_void(self, t, task_resume{});
    if (std::string(op) == "kill") err = ask_void(self, t, task_kill{"", 15, false});
    if (std::string(op) == "metrics") err = ask(self, t, &stats, task_metrics{});
    CHECK_THAT(err, Contains("task default/emb: it is stopped"));
  }
  CHECK(ask(self, t, &pid, task_start{}) == "cannot start task default/emb: it is stopped");
  CHECK(ask(self, t, &procs, task_pids{}) == "");
  CHECK(procs.empty());
  REQUIRE(ask(self, t, &gone, task_delete{}) == "");
  CHECK(gone.status.code == 137);

  // The registry routes by namespace and id.
  CHECK(ask(self, e.b.registry(), &h, get_task_atom::value, std::string(), std::string("emb")) ==
        "task default/emb not found");
  CHECK(ask(self, e.b.registry(), &rec, del_cont_atom::value, std::string("other"),
            std::string("emb")) == "container other/emb not found");
  REQUIRE(ask(self, e.b.registry(), &rec, del_cont_atom::value, std::string(),
              std::string("emb")) == "");
  std::vector<container_record> all;
  REQUIRE(ask(self, e.b.registry(), &all, list_cont_atom::value, std::string()) == "");
  CHECK(all.empty());
  CHECK(shims_left(e.dir / "state").empty());
}
