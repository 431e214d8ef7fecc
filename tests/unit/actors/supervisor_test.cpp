// The supervisor against fake children (supervisor_children), on CAF's
// deterministic test coordinator: a child made to throw (the failpoint, as
// a bug on its input would) is restarted together with the children after
// it (rest for one), and past the restart policy's bound the supervisor
// gives up. The restart window is measured on the test clock, so "5 in 10 s"
// is tested without waiting 10 s. The same with berthd's real actors is
// tests/integration/daemon/ (supervision).
#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/daemon/supervisor_actor.hpp"
#include "actors/supervised.hpp"
#include "tests/unit/actors/deterministic_system.hpp"

using namespace berth;
using namespace berth::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* runc = "io.berth.runc.v1";

// One fake child: says in the journal when it starts and how it ends, and
// throws on a failpoint like every supervised actor. The store also answers
// the supervisor's "default namespace" and the registry its recovery.
caf::behavior fake_child(caf::event_based_actor* self, std::string name, const char* actor_name,
                         journal* log) {
  log->add("start " + name);
  self->attach_functor([name, log](const caf::error& reason) {
    log->add("end " + name + (reason ? ": " + error_message(reason) : std::string{}));
  });
  report_exceptions(self, actor_name);
  return {
      failpoint_handler(),
      [log, name](put_ns_atom, const namespace_record& r) -> caf::result<namespace_record> {
        log->add(name + ": put namespace " + r.name);
        return make_error(errc::already_exists, "namespace " + r.name + " already exists");
      },
      [log, name](recover_all_atom) {
        log->add(name + ": recover");
        return recovery_report{3, 2, 1};
      },
  };
}

struct supervisor_fixture : deterministic_system {
  std::shared_ptr<berth_handles> handles = std::make_shared<berth_handles>();
  std::vector<std::string> gave_up;  // on_give_up's reasons
  std::map<std::string, int> incarnations;
  std::map<std::string, caf::actor> current;  // each child's newest incarnation
  supervisor_actor sup;

  supervisor_fixture() {
    berth_config cfg;
    runtime_config r;
    r.name = runc;
    cfg.runtimes = {r};
    cfg.default_runtime = runc;
    cfg.on_give_up = [this](const std::string& why) { gave_up.push_back(why); };
    supervisor_children c;
    c.store = [this](caf::actor_system&) {
      auto a = spawn_fake("store", "berth.store");
      return store_and_events{caf::actor_cast<store_actor>(a), caf::actor_cast<events_actor>(a)};
    };
    c.images = [this](caf::actor_system&, store_actor) {
      return caf::actor_cast<images_actor>(spawn_fake("images", "berth.images"));
    };
    c.runtime = [this](caf::actor_system&, const runtime_config& rc) {
      return caf::actor_cast<runtime_actor>(spawn_fake("runtime " + rc.name, "berth.runtime"));
    };
    c.registry = [this](caf::actor_system&, registry_config rc, store_actor store, events_actor) {
      // The registry is handed its dependencies' newest incarnations.
      CHECK(caf::actor_cast<caf::actor>(store) == current["store"]);
      CHECK(caf::actor_cast<caf::actor>(rc.images) == current["images"]);
      CHECK(caf::actor_cast<caf::actor>(rc.runtimes[runc]) ==
            current[std::string("runtime ") + runc]);
      return caf::actor_cast<registry_actor>(spawn_fake("registry", "berth.registry"));
    };
    sup = spawn_supervisor(sys, cfg, handles, c);
  }
  ~supervisor_fixture() {
    std::vector<caf::actor> all;
    for (auto& [name, a] : current) all.push_back(a);
    for (auto& a : all) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    stop(sup);
  }

  // `actor_name`: what the real actor names itself in an exception's report.
  caf::actor spawn_fake(const std::string& base, const char* actor_name) {
    auto name = base + " #" + std::to_string(++incarnations[base]);
    auto a = sys.spawn(fake_child, name, actor_name, &log);
    current[base] = a;
    return a;
  }

  // Makes the newest incarnation of `base` throw, as a bug on its input would.
  void fail(const std::string& base, const std::string& why = "boom") {
    caf::anon_send(current.at(base), failpoint_atom::value, why);
    run();
  }

  std::pair<std::uint32_t, bool> restarts() {
    std::pair<std::uint32_t, bool> out{0, false};
    auto probe = sys.spawn([this, &out](caf::event_based_actor* self) {
      self->request(sup, caf::infinite, supervisor_restarts_atom::value)
          .then([&out](std::uint32_t n, bool serving) {
            out = {n, serving};
          });
    });
    run();
    return out;
  }
};

}  // namespace

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: starts its children in dependency order, then recovers", "[sup]") {
  auto ready = ask<recovery_report>(sup, supervisor_ready_atom::value);
  run();
  INFO(log.dump());
  REQUIRE(ready->value);
  CHECK(ready->value->containers == 3u);
  CHECK(ready->value->tasks == 2u);
  CHECK(ready->value->orphan_shims == 1u);
  CHECK(log.find("start store #1") < log.find("start images #1"));
  CHECK(log.find("start images #1") < log.find("start runtime io.berth.runc.v1 #1"));
  CHECK(log.find("start runtime io.berth.runc.v1 #1") < log.find("start registry #1"));
  // The default namespace exists (already did: fine) before the registry recovers.
  CHECK(log.find("store #1: put namespace default") < log.find("registry #1: recover"));
  // Handles are published only once the registry recovered.
  CHECK(caf::actor_cast<caf::actor>(handles->registry()) == current["registry"]);
  CHECK(caf::actor_cast<caf::actor>(handles->store()) == current["store"]);
  CHECK(restarts() == std::pair<std::uint32_t, bool>{0, true});
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: a failed child is restarted with the children after it, the "
                 "others untouched",
                 "[sup]") {
  run();
  SECTION("images: images, runtime and registry start again; the store stays") {
    fail("images");
    INFO(log.dump());
    CHECK(log.has("end images #1: unhandled exception in berth.images: failpoint: boom"));
    // Its dependents are stopped with the failure as their reason, so what
    // they had in flight is answered with it.
    CHECK(
        log.has("end registry #1: berth.images failed: unhandled exception in berth.images: "
                "failpoint: boom"));
    CHECK(log.has("end runtime io.berth.runc.v1 #1: berth.images failed"));
    // Newest first: the registry ends before the runtime it holds.
    CHECK(log.find("end registry #1") < log.find("end runtime io.berth.runc.v1 #1"));
    CHECK(log.has("start images #2"));
    CHECK(log.has("start runtime io.berth.runc.v1 #2"));
    CHECK(log.has("start registry #2"));
    CHECK(log.has("registry #2: recover"));
    CHECK_FALSE(log.has("start store #2"));
    CHECK_FALSE(log.has("end store #1"));
    CHECK(caf::actor_cast<caf::actor>(handles->registry()) == current["registry"]);
    CHECK(caf::actor_cast<caf::actor>(handles->images()) == current["images"]);
    CHECK(incarnations["store"] == 1);
    CHECK(handles->recent_failure(std::chrono::minutes(1)) ==
          "berth.images failed: unhandled exception in berth.images: failpoint: boom");
    CHECK(restarts() == std::pair<std::uint32_t, bool>{1, true});
  }
  SECTION("registry: only the registry starts again") {
    fail("registry");
    INFO(log.dump());
    CHECK(log.has("end registry #1: unhandled exception in berth.registry: failpoint: boom"));
    CHECK(log.has("start registry #2"));
    CHECK(log.has("registry #2: recover"));
    CHECK(incarnations["store"] == 1);
    CHECK(incarnations["images"] == 1);
    CHECK(incarnations[std::string("runtime ") + runc] == 1);
    CHECK(restarts() == std::pair<std::uint32_t, bool>{1, true});
  }
  SECTION("store: everything starts again, in order") {
    fail("store");
    INFO(log.dump());
    auto from = log.find("end store #1");
    REQUIRE(from != journal::npos);
    CHECK(log.find("start store #2") > from);
    CHECK(log.find("start store #2") < log.find("start images #2"));
    CHECK(log.find("start images #2") < log.find("start runtime io.berth.runc.v1 #2"));
    CHECK(log.find("start runtime io.berth.runc.v1 #2") < log.find("start registry #2"));
    CHECK(log.has("store #2: put namespace default"));
    CHECK(restarts() == std::pair<std::uint32_t, bool>{1, true});
  }
  CHECK(gave_up.empty());
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: more than 5 failures within 10 s and it gives up, stopping all",
                 "[sup]") {
  auto ready = ask<recovery_report>(sup, supervisor_ready_atom::value);
  run();
  REQUIRE(ready->value);
  for (int i = 1; i <= 5; ++i) {
    fail("registry", "boom " + std::to_string(i));
    advance(1s);
  }
  INFO(log.dump());
  CHECK(gave_up.empty());
  CHECK(restarts() == std::pair<std::uint32_t, bool>{5, true});
  CHECK(incarnations["registry"] == 6);

  fail("images", "boom 6");
  REQUIRE(gave_up.size() == 1);
  CHECK(gave_up[0] ==
        "berthd stops: 6 failures of its actors within 10000 ms (the limit is 5); the last: "
        "berth.images: unhandled exception in berth.images: failpoint: boom 6");
  // Nothing is started again; every child is stopped; callers from now on
  // find no handles (unavailable at once) instead of a half-started berth.
  CHECK(incarnations["images"] == 1);
  CHECK(incarnations["registry"] == 6);
  CHECK(log.has("end store #1"));
  CHECK(log.has("end runtime io.berth.runc.v1 #1"));
  CHECK(log.has("end registry #6"));
  CHECK_FALSE(handles->registry());
  CHECK_FALSE(handles->store());
  // The supervisor itself is gone.
  auto late = ask<recovery_report>(sup, supervisor_ready_atom::value);
  run();
  REQUIRE(late->error);
  CHECK(late->code() == errc::unavailable);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor: failures older than the window are forgiven",
                 "[sup]") {
  run();
  for (int i = 0; i < 5; ++i) fail("registry");
  advance(10001ms);  // the five fall out of the 10 s window
  for (int i = 0; i < 5; ++i) fail("registry");
  INFO(log.dump());
  CHECK(gave_up.empty());
  CHECK(restarts() == std::pair<std::uint32_t, bool>{10, true});
  fail("registry");  // the sixth within 10 s
  REQUIRE(gave_up.size() == 1);
  CHECK(gave_up[0].rfind("berthd stops: 6 failures of its actors within 10000 ms", 0) == 0);
}
