// Shim proxies against real shims and runc: every operation as a message,
// events in order at the subscriber, deadlines on a stopped shim, and a
// killed shim answered `unavailable`.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>

#include "daemon_fixture.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

std::vector<shim_event_kind> kinds(const std::vector<shim_event>& events) {
  std::vector<shim_event_kind> out;
  for (auto& e : events) out.push_back(e.kind);
  return out;
}

bool has_kind(const std::vector<shim_event>& events, shim_event_kind k) {
  return std::any_of(events.begin(), events.end(), [k](auto& e) { return e.kind == k; });
}

template <class Clock = std::chrono::steady_clock>
std::chrono::milliseconds since(typename Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

}  // namespace

TEST_CASE("a task lives its whole life through a shim proxy", "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("life", {.args = {"sleep", "30"}});
  auto proxy = f.start_and_connect(t);
  REQUIRE_NO_ERROR(f.tell(proxy, shim_subscribe{0}));

  auto created = f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}});
  REQUIRE_VALUE(created);
  CHECK(*created > 0);
  auto st = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::created);
  CHECK(st->id == t.args.id);
  CHECK(st->bundle == t.args.bundle);

  auto started = f.ask<std::uint32_t>(proxy, shim_start{});
  REQUIRE_VALUE(started);
  CHECK(*started == *created);
  st = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::running);
  CHECK(st->pid == *created);

  auto pids = f.ask<std::vector<process_info>>(proxy, shim_pids{});
  REQUIRE_VALUE(pids);
  CHECK(std::any_of(pids->begin(), pids->end(), [&](auto& p) { return p.pid == *created; }));

  REQUIRE_NO_ERROR(f.tell(proxy, shim_pause{}));
  st = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::paused);
  // The shim's own refusal arrives with its code and words.
  auto refused = f.tell(proxy, shim_pause{});
  CHECK(error_code(refused) == errc::failed_precondition);
  CHECK(error_message(refused) == "cannot pause task " + t.args.id + ": it is paused");
  REQUIRE_NO_ERROR(f.tell(proxy, shim_resume{}));

  auto unknown = f.ask<process_state>(proxy, shim_state{"nope"});
  REQUIRE_FALSE(unknown);
  CHECK(error_code(unknown.error()) == errc::not_found);
  CHECK_THAT(error_message(unknown.error()), Contains("nope"));

  // An exec process, run to its end.
  shim_exec ex;
  ex.exec_id = "e1";
  ex.args = {"sh", "-c", "exit 4"};
  REQUIRE_NO_ERROR(f.tell(proxy, ex));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{"e1"}));
  auto exec_exit = f.ask<exit_status>(proxy, shim_wait{"e1"});
  REQUIRE_VALUE(exec_exit);
  CHECK(exec_exit->code == 4);

  REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
  auto waited = f.ask<exit_status>(proxy, shim_wait{});
  REQUIRE_VALUE(waited);
  CHECK(waited->code == 137);
  CHECK(waited->signal == SIGKILL);
  auto deleted = f.ask<deleted_process>(proxy, shim_delete{});
  REQUIRE_VALUE(deleted);
  CHECK(deleted->status.code == 137);
  CHECK(deleted->pid == *created);

  // Every event, in the shim's order, numbered without gaps.
  REQUIRE(f.collect_until([&] { return has_kind(f.events, shim_event_kind::task_delete); }));
  using k = shim_event_kind;
  CHECK(kinds(f.events) == std::vector<k>{k::task_create, k::task_start, k::task_paused,
                                          k::task_resumed, k::task_exec_added, k::task_exec_started,
                                          k::task_exit, k::task_exit, k::task_delete});
  CHECK(f.events.front().sequence == 1);
  for (size_t i = 1; i < f.events.size(); ++i) {
    INFO("event " << i << " " << f.events[i].topic);
    CHECK(f.events[i].sequence == f.events[i - 1].sequence + 1);
  }
  for (auto& e : f.events) CHECK(e.id == t.args.id);
  CHECK(f.events[0].pid == *created);
  CHECK(f.events[6].exec_id == "e1");
  CHECK(f.events[6].status.code == 4);
  CHECK(f.events[7].exec_id.empty());
  CHECK(f.events[7].status.code == 137);

  // The shim goes; the subscriber hears of it once.
  int pid = shim_pid(t.args.state_dir);
  REQUIRE_NO_ERROR(f.tell(proxy, shim_shutdown{}));
  CHECK(eventually([&] { return !process_alive(pid); }));
  REQUIRE(f.collect_until([&] { return f.lost.has_value(); }));
  CHECK(f.lost->id == t.args.id);
  auto gone = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_FALSE(gone);
  CHECK(error_code(gone.error()) == errc::unavailable);
}

TEST_CASE("a stopped shim answers deadline_exceeded and only its own task waits",
          "[daemon][proxy][runc]") {
  daemon_fixture f(500ms);
  task_dir slow_dir("stopped", {.args = {"sleep", "1"}});
  task_dir fast_dir("bystander", {.args = {"sleep", "30"}});
  auto slow = f.start_and_connect(slow_dir);
  auto fast = f.start_and_connect(fast_dir);
  REQUIRE_VALUE(f.ask<std::uint32_t>(slow, shim_create{slow_dir.args.bundle, {}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(fast, shim_create{fast_dir.args.bundle, {}, {}, {}}));

  int pid = shim_pid(slow_dir.args.state_dir);
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  // Let the shim resume whatever way the test ends, so its cleanup is normal.
  struct resume_on_exit {
    int pid;
    ~resume_on_exit() { kill(pid, SIGCONT); }
  } resume{pid};

  auto t0 = std::chrono::steady_clock::now();
  auto st = f.ask<process_state>(slow, shim_state{});
  auto took = since(t0);
  REQUIRE_FALSE(st);
  CHECK(error_code(st.error()) == errc::deadline_exceeded);
  CHECK(error_message(st.error()) ==
        "shim for task default/" + slow_dir.args.id + " did not answer state within 500ms");
  CHECK(took.count() >= 450);
  CHECK(took.count() < 1500);

  // The other task's shim is not held up: held up, it would have answered
  // deadline_exceeded too.
  auto other = f.ask<process_state>(fast, shim_state{});
  REQUIRE_VALUE(other);
  CHECK(other->status == shim_status::created);

  REQUIRE(kill(pid, SIGCONT) == 0);
  st = f.ask<process_state>(slow, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::created);

  // wait has no deadline: the container sleeps longer than 500 ms.
  REQUIRE_VALUE(f.ask<std::uint32_t>(slow, shim_start{}));
  t0 = std::chrono::steady_clock::now();
  auto waited = f.ask<exit_status>(slow, shim_wait{});
  REQUIRE_VALUE(waited);
  CHECK(waited->code == 0);
  CHECK(since(t0).count() >= 500);
  REQUIRE_VALUE(f.ask<deleted_process>(slow, shim_delete{}));
}

TEST_CASE("a killed shim makes its proxy answer unavailable", "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("killed", {.args = {"sleep", "30"}});
  auto proxy = f.start_and_connect(t);
  REQUIRE_NO_ERROR(f.tell(proxy, shim_subscribe{0}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));

  // wait has no deadline; a lost connection must still end it.
  auto pending_wait = f.self->request(proxy, 60s, shim_wait{});
  int pid = shim_pid(t.args.state_dir);
  REQUIRE(kill(pid, SIGKILL) == 0);
  caf::error wait_err;
  pending_wait.receive([](exit_status&) {}, [&](caf::error& e) { wait_err = std::move(e); });
  CHECK(error_code(wait_err) == errc::unavailable);
  CHECK_THAT(error_message(wait_err), Contains("(wait)"));
  REQUIRE(f.collect_until([&] { return f.lost.has_value(); }));
  CHECK(f.lost->id == t.args.id);
  CHECK_THAT(f.lost->reason, Contains("connection lost"));

  for (int i = 0; i < 2; ++i) {
    auto st = f.ask<process_state>(proxy, shim_state{});
    REQUIRE_FALSE(st);
    CHECK(error_code(st.error()) == errc::unavailable);
    CHECK_THAT(error_message(st.error()),
               Contains("shim for task default/" + t.args.id + " is unavailable (state)"));
  }
  // Reconnecting finds nobody.
  auto again = f.ask<shim_info>(proxy, shim_connect{});
  REQUIRE_FALSE(again);
  CHECK(error_code(again.error()) == errc::unavailable);

  // The container outlived its shim; cleanup removes it and says the shim
  // recorded no exit.
  auto st = f.ask<exit_status>(f.runtime, cleanup_shim_atom::value, t.args.ns, t.args.id,
                               t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(st);
  CHECK((st->code == 255 || st->code == 137));
  CHECK_FALSE(runc_knows(t.args.id));
}

TEST_CASE("events wait in the shim while no subscriber listens", "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("resend", {.args = {"sleep", "30"}});
  auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                    t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(address);
  {
    caf::scoped_actor first{f.sys};
    auto proxy = f.ask<shim_proxy_actor>(f.runtime, connect_shim_atom::value, t.args.ns, t.args.id,
                                         *address, caf::actor_cast<shim_event_sink>(first.ptr()));
    REQUIRE_VALUE(proxy);
    f.self->monitor(*proxy);
    REQUIRE_NO_ERROR(f.tell(*proxy, shim_subscribe{0}));
    REQUIRE_VALUE(f.ask<std::uint32_t>(*proxy, shim_create{t.args.bundle, {}, {}, {}}));
    bool got = false;
    first->receive(
        [&](shim_event& e) {
          got = true;
          CHECK(e.sequence == 1);
          CHECK(e.kind == shim_event_kind::task_create);
        },
        caf::after(5s) >> [] {});
    REQUIRE(got);
  }
  // Its subscriber gone, the proxy stops and its connection closes.
  bool down = false;
  f.self->receive([&](const caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  REQUIRE(down);

  auto proxy = f.ask<shim_proxy_actor>(f.runtime, connect_shim_atom::value, t.args.ns, t.args.id,
                                       *address, f.sink());
  REQUIRE_VALUE(proxy);
  f.proxies.push_back(*proxy);
  // Nobody subscribed: the start event stays with the shim...
  REQUIRE_VALUE(f.ask<std::uint32_t>(*proxy, shim_start{}));
  CHECK_FALSE(f.collect_until([&] { return !f.events.empty(); }, 300ms));
  // ...until someone does, and arrives with its own number.
  REQUIRE_NO_ERROR(f.tell(*proxy, shim_subscribe{1}));
  REQUIRE(f.collect_until([&] { return !f.events.empty(); }));
  CHECK(f.events[0].sequence == 2);
  CHECK(f.events[0].kind == shim_event_kind::task_start);
}
