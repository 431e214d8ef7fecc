// Shim proxies against real shims and runc: every operation as a message,
// events in order at the subscriber, deadlines on a stopped shim, and a
// killed shim answered `unavailable`; stats, update, closeIo, resizePty and
// checkpoint with what the shim, runc and the kernel really answer.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>

#include "daemon_fixture.hpp"
#include "tests/support/machine.hpp"
#include "tests/support/skip.hpp"

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
  // The deadline ended the call, not the shim: far less than forever, with
  // room for a loaded machine.
  CHECK(took.count() < 10000);

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

TEST_CASE("stats read the task's cgroup and update changes its limits through the proxy",
          "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("stats", {.args = {"sleep", "30"}});
  auto proxy = f.start_and_connect(t);
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));

  auto before = f.ask<task_stats>(proxy, shim_stats{});
  REQUIRE_VALUE(before);
  // A busybox sleep: some memory, well under a gigabyte; one process at least.
  CHECK(before->memory_usage > 0);
  CHECK(before->memory_usage < (std::uint64_t{1} << 30));
  CHECK(before->pids_current >= 1);

  constexpr std::int64_t limit = 64 * 1024 * 1024;
  REQUIRE(before->memory_limit != static_cast<std::uint64_t>(limit));
  REQUIRE_NO_ERROR(f.tell(proxy, shim_update{{.memory_limit = limit}}));
  auto after = f.ask<task_stats>(proxy, shim_stats{});
  REQUIRE_VALUE(after);
  CHECK(after->memory_limit == static_cast<std::uint64_t>(limit));
  CHECK(after->memory_usage > 0);

  // A limit below what the container already uses: runc's refusal, in the
  // shim's words, and the container runs on.
  auto refused = f.tell(proxy, shim_update{{.memory_limit = 4096}});
  CHECK(error_code(refused) == errc::internal);
  CHECK_THAT(error_message(refused), Catch::Matchers::StartsWith("cannot update task " + t.args.id +
                                                                 ": runc update failed: "));

  REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
  REQUIRE_VALUE(f.ask<exit_status>(proxy, shim_wait{}));
  // A stopped task has no cgroup to read.
  auto stopped = f.ask<task_stats>(proxy, shim_stats{});
  REQUIRE_FALSE(stopped);
  CHECK(error_code(stopped.error()) == errc::failed_precondition);
  CHECK(error_message(stopped.error()) == "cannot stats task " + t.args.id + ": it is stopped");
  REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
}

TEST_CASE("closeIo through the proxy ends a stdin nobody wrote", "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("close-io", {.args = {"cat"}});
  const std::string fifo = t.dir / "stdin.fifo";
  const std::string out = t.dir / "out.txt";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto proxy = f.start_and_connect(t);
  REQUIRE_VALUE(f.ask<std::uint32_t>(
      proxy, shim_create{t.args.bundle, stdio_paths{fifo, out, {}, false}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));
  // cat waits for input that never comes...
  auto st = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::running);
  // ...until its stdin is closed.
  REQUIRE_NO_ERROR(f.tell(proxy, shim_close_io{"", true}));
  auto waited = f.ask<exit_status>(proxy, shim_wait{});
  REQUIRE_VALUE(waited);
  CHECK(waited->code == 0);
  CHECK(read_text(out).empty());

  auto unknown = f.tell(proxy, shim_close_io{"nope", true});
  CHECK(error_code(unknown) == errc::not_found);
  CHECK(error_message(unknown) == "process nope of task " + t.args.id + " not found");
  REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
}

TEST_CASE("resizePty through the proxy: refused without a terminal, seen by one",
          "[daemon][proxy][runc]") {
  daemon_fixture f;
  SECTION("no terminal") {
    task_dir t("no-tty", {.args = {"sleep", "30"}});
    auto proxy = f.start_and_connect(t);
    REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}}));
    REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));
    auto refused = f.tell(proxy, shim_resize_pty{"", 80, 24});
    CHECK(error_code(refused) == errc::failed_precondition);
    CHECK(error_message(refused) ==
          "cannot resize the terminal of task " + t.args.id + ": it has no terminal");
    REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
    REQUIRE_VALUE(f.ask<exit_status>(proxy, shim_wait{}));
    REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
  }
  SECTION("a terminal") {
    // The container prints its terminal's size over and over, so the new
    // size shows that the resize reached the pty, not only that the shim
    // said yes.
    task_dir t("tty", {.args = {"sh", "-c", "while :; do busybox stty size; sleep 0.2; done"},
                       .terminal = true});
    const std::string out = t.dir / "out.txt";
    auto proxy = f.start_and_connect(t);
    REQUIRE_VALUE(f.ask<std::uint32_t>(
        proxy, shim_create{t.args.bundle, stdio_paths{{}, out, {}, true}, {}, {}}));
    REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));
    REQUIRE_NO_ERROR(f.tell(proxy, shim_resize_pty{"", 120, 40}));
    CHECK(eventually([&] { return read_text(out).find("40 120") != std::string::npos; }));
    INFO(read_text(out));
    REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
    REQUIRE_VALUE(f.ask<exit_status>(proxy, shim_wait{}));
    REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
  }
}

TEST_CASE("checkpoint through the proxy is unavailable and says why", "[daemon][proxy][runc]") {
  // install-deps installs criu; this case checks how its refusal is reported.
  REQUIRE(have_program("criu"));
  if (criu_runs_here()) BERTH_SKIP("CRIU runs on this kernel: no refusal to report");
  daemon_fixture f;
  task_dir t("ckpt", {.args = {"sleep", "30"}});
  auto proxy = f.start_and_connect(t);
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));

  auto bad_path = f.tell(proxy, shim_checkpoint{"relative", false});
  CHECK(error_code(bad_path) == errc::invalid_argument);
  CHECK(error_message(bad_path) == "invalid checkpoint path \"relative\": must be absolute");

  // CRIU cannot dump on this kernel: the user learns it is the machine, not
  // berth, and why.
  auto err = f.tell(proxy, shim_checkpoint{t.dir / "image", false});
  INFO(error_message(err));
  CHECK(error_code(err) == errc::unavailable);
  const std::string prefix = "cannot checkpoint task " + t.args.id + ": runc checkpoint failed: ";
  REQUIRE_THAT(error_message(err), Catch::Matchers::StartsWith(prefix));
  // runc only says "criu failed"; CRIU's own words follow.
  const std::string says = "; CRIU says: ";
  auto at = error_message(err).find(says);
  REQUIRE(at != std::string::npos);
  CHECK(error_message(err).size() > at + says.size());
  // The task is untouched.
  auto st = f.ask<process_state>(proxy, shim_state{});
  REQUIRE_VALUE(st);
  CHECK(st->status == shim_status::running);
  REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
  REQUIRE_VALUE(f.ask<exit_status>(proxy, shim_wait{}));
  REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
}

TEST_CASE("a stopped shim makes stats answer deadline_exceeded in time", "[daemon][proxy][runc]") {
  daemon_fixture f(500ms);
  task_dir t("stats-stopped-shim", {.args = {"sleep", "30"}});
  auto proxy = f.start_and_connect(t);
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_create{t.args.bundle, {}, {}, {}}));
  REQUIRE_VALUE(f.ask<std::uint32_t>(proxy, shim_start{}));

  int pid = shim_pid(t.args.state_dir);
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  struct resume_on_exit {
    int pid;
    ~resume_on_exit() { kill(pid, SIGCONT); }
  } resume{pid};

  auto t0 = std::chrono::steady_clock::now();
  auto stats = f.ask<task_stats>(proxy, shim_stats{});
  auto took = since(t0);
  REQUIRE_FALSE(stats);
  CHECK(error_code(stats.error()) == errc::deadline_exceeded);
  CHECK(error_message(stats.error()) ==
        "shim for task default/" + t.args.id + " did not answer stats within 500ms");
  CHECK(took.count() >= 450);
  // The deadline ended the call, not the shim: far less than forever, with
  // room for a loaded machine.
  CHECK(took.count() < 10000);

  // Woken, the shim answers again on the same connection.
  REQUIRE(kill(pid, SIGCONT) == 0);
  auto again = f.ask<task_stats>(proxy, shim_stats{});
  REQUIRE_VALUE(again);
  CHECK(again->pids_current >= 1);
  REQUIRE_NO_ERROR(f.tell(proxy, shim_kill{"", SIGKILL, false}));
  REQUIRE_VALUE(f.ask<exit_status>(proxy, shim_wait{}));
  REQUIRE_VALUE(f.ask<deleted_process>(proxy, shim_delete{}));
}

namespace {

// The error the proxy answers `msg` with (none when it succeeds); the reply
// type comes from the proxy's interface.
template <class R>
auto ignore_reply(caf::detail::type_list<R>) {
  return [](R&) {};
}
auto ignore_reply(caf::detail::type_list<void>) {
  return [] {};
}

template <class Msg>
caf::error error_of(daemon_fixture& f, const shim_proxy_actor& proxy, Msg msg) {
  caf::error out;
  f.self->request(proxy, 60s, std::move(msg))
      .receive(ignore_reply(caf::response_type_t<shim_proxy_actor::signatures, Msg>{}),
               [&](caf::error& e) { out = std::move(e); });
  return out;
}

}  // namespace

// Every operation but wait, against a shim that cannot answer: each names
// itself, and create, start and delete (they run the OCI runtime) get the
// longer command deadline.
TEST_CASE("a stopped shim: every operation names itself and its own deadline",
          "[daemon][proxy][runc]") {
  daemon_fixture f;
  task_dir t("every-deadline", {.args = {"sleep", "30"}});
  auto address = f.ask<std::string>(f.runtime, start_shim_atom::value, t.args.ns, t.args.id,
                                    t.args.bundle, t.args.state_dir);
  REQUIRE_VALUE(address);
  shim_proxy_config pc{t.args.ns, t.args.id, *address, 500ms, 1500ms};
  auto proxy = spawn_shim_proxy(f.sys, f.io, pc, f.sink());
  f.proxies.push_back(proxy);
  auto who = "shim for task default/" + t.args.id;

  auto early = error_of(f, proxy, shim_pause{});
  CHECK(error_code(early) == errc::unavailable);
  CHECK(error_message(early) ==
        who + " is unavailable (pause): not connected (send shim_connect first)");
  REQUIRE_VALUE(f.ask<shim_info>(proxy, shim_connect{}));

  int pid = shim_pid(t.args.state_dir);
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  struct resume_on_exit {
    int pid;
    ~resume_on_exit() { kill(pid, SIGCONT); }
  } resume{pid};

  // Arguments the shim refuses once it wakes, so nothing is left running;
  // shutdown comes last.
  std::vector<std::pair<std::string, caf::error>> answers;
  answers.emplace_back("connect within 500ms", error_of(f, proxy, shim_connect{}));
  answers.emplace_back("create within 1500ms",
                       error_of(f, proxy, shim_create{"/nonexistent", {}, {}, {}}));
  answers.emplace_back("start within 1500ms", error_of(f, proxy, shim_start{"nope"}));
  answers.emplace_back("state within 500ms", error_of(f, proxy, shim_state{"nope"}));
  answers.emplace_back("pids within 500ms", error_of(f, proxy, shim_pids{}));
  answers.emplace_back("pause within 500ms", error_of(f, proxy, shim_pause{}));
  answers.emplace_back("resume within 500ms", error_of(f, proxy, shim_resume{}));
  answers.emplace_back("kill within 500ms", error_of(f, proxy, shim_kill{"nope", 0, false}));
  answers.emplace_back("exec within 500ms",
                       error_of(f, proxy, shim_exec{"bad id!", {"true"}, {}, "", {}, ""}));
  answers.emplace_back("delete within 1500ms", error_of(f, proxy, shim_delete{"nope"}));
  answers.emplace_back("closeIo within 500ms", error_of(f, proxy, shim_close_io{"nope", true}));
  answers.emplace_back("attach within 500ms", error_of(f, proxy, shim_attach{"nope", {}}));
  answers.emplace_back("resizePty within 500ms",
                       error_of(f, proxy, shim_resize_pty{"nope", 80, 24}));
  answers.emplace_back("update within 500ms", error_of(f, proxy, shim_update{}));
  answers.emplace_back("stats within 500ms", error_of(f, proxy, shim_stats{}));
  answers.emplace_back("checkpoint within 500ms",
                       error_of(f, proxy, shim_checkpoint{"/nonexistent", false}));
  answers.emplace_back("subscribe within 500ms", error_of(f, proxy, shim_subscribe{0}));
  answers.emplace_back("shutdown within 500ms", error_of(f, proxy, shim_shutdown{false}));
  for (auto& [what, err] : answers) {
    INFO(what);
    CHECK(error_code(err) == errc::deadline_exceeded);
    CHECK(error_message(err) == who + " did not answer " + what);
  }
}
