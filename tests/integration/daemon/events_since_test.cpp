// Events that survive a restart, through berthd's API: a subscriber resumes
// with `since` and gets every event after it exactly once and in order —
// including an exit that happened while berthd was down — with no gap or
// repeat at the seam between the replay and the live stream; a subscriber
// that stops returning from its EventSink calls is told so and dropped,
// while the others go on.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth::test;
using namespace std::chrono_literals;

namespace {

struct sink_state {
  std::vector<seen_event> events;
  std::string too_slow;  // the final notice, when berthd dropped the sink
  bool stall = false;    // never return from publish (a subscriber that hangs)
};

class test_sink final : public berth::wire::EventSink::Server {
 public:
  explicit test_sink(std::shared_ptr<sink_state> st) : st_(std::move(st)) {}
  kj::Promise<void> publish(PublishContext ctx) override {
    auto e = ctx.getParams().getEvent();
    if (e.isSubscriberTooSlow()) {
      st_->too_slow = e.getSubscriberTooSlow().getMessage().cStr();
      return kj::READY_NOW;
    }
    seen_event s;
    s.sequence = e.getSequence();
    s.ns = e.getNamespace().cStr();
    s.id = e.getId().cStr();
    s.topic = e.getTopic().cStr();
    if (e.isTaskExit()) {
      s.exec_id = e.getTaskExit().getExecId().cStr();
      s.exit_code = e.getTaskExit().getStatus().getCode();
    }
    st_->events.push_back(s);
    if (st_->stall) return kj::NEVER_DONE;
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<sink_state> st_;
};

// Subscribes with `since` (none: live only); the subscription is kept in
// `keep`. Returns the response's error message, "" on success.
std::string subscribe(api_client& c, std::shared_ptr<sink_state> st,
                      std::vector<berth::wire::api::Subscription::Client>& keep,
                      std::optional<std::uint64_t> since) {
  auto req = c.berth().subscribeRequest();
  auto r = req.initReq();
  r.initFilter();
  if (since) r.setSince(*since);
  r.setSink(kj::heap<test_sink>(std::move(st)));
  auto response = req.send().wait(c.ws());
  auto resp = response.getResp();
  if (auto err = error_of(resp); !err.empty()) return err;
  keep.push_back(resp.getSubscription());
  return "";
}

// Deletes a container that has no task; the response's error, "" if none.
std::string delete_container(api_client& c, const std::string& id) {
  auto req = c.berth().deleteContainerRequest();
  req.initReq().setNamespace("default");
  req.getReq().setId(id);
  auto response = req.send().wait(c.ws());
  return error_of(response.getResp());
}

bool saw(const std::vector<seen_event>& evs, const std::string& id, const std::string& topic) {
  for (auto& e : evs)
    if (e.id == id && e.topic == topic) return true;
  return false;
}

int count_of(const std::vector<seen_event>& evs, const std::string& id, const std::string& topic) {
  int n = 0;
  for (auto& e : evs) n += e.id == id && e.topic == topic;
  return n;
}

// Every sequence number follows the one before it: no gap, no repeat.
void require_consecutive(const std::vector<seen_event>& evs, std::uint64_t first) {
  REQUIRE_FALSE(evs.empty());
  for (std::size_t i = 0; i < evs.size(); ++i) {
    INFO("event " << i << ": " << evs[i].topic << " " << evs[i].id);
    REQUIRE(evs[i].sequence == first + i);
  }
}

std::string unique(const std::string& stem) {
  static int next = 0;
  return stem + "-" + std::to_string(getpid()) + "-" + std::to_string(next++);
}

bool gone(pid_t pid) {
  return !std::filesystem::exists("/proc/" + std::to_string(pid));
}

}  // namespace

TEST_CASE("an exit while berthd is down is replayed once to since, also after a second restart",
          "[daemon][events]") {
  berthd_process d;
  auto id = unique("down");
  std::uint32_t pid = 0;
  std::uint64_t started = 0;
  {
    api_client c{d.address()};
    REQUIRE(c.create_container("default", id, d.rootfs(), {"sleep", "1000"}) ==
            berth::wire::ErrorCode::OK);
    std::string err;
    c.run("default", id, &err, &pid);
    REQUIRE(err.empty());
    REQUIRE(pid > 0);
    auto st = std::make_shared<sink_state>();
    std::vector<berth::wire::api::Subscription::Client> keep;
    REQUIRE(subscribe(c, st, keep, 0) == "");
    REQUIRE(c.pump_until([&] { return saw(st->events, id, "/tasks/start"); }, 30s));
    require_consecutive(st->events, 1);
    started = st->events.back().sequence;
  }

  d.kill9();
  REQUIRE(::kill(static_cast<pid_t>(pid), SIGKILL) == 0);
  for (int i = 0; i < 400 && !gone(static_cast<pid_t>(pid)); ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(gone(static_cast<pid_t>(pid)));
  d.start();

  std::uint64_t exit_seq = 0;
  for (int round = 0; round < 2; ++round) {
    INFO("after restart " << round + 1);
    api_client c{d.address()};
    auto st = std::make_shared<sink_state>();
    std::vector<berth::wire::api::Subscription::Client> keep;
    REQUIRE(subscribe(c, st, keep, started) == "");
    // A live event after the replay: the stream goes on past the seam.
    auto marker = unique("marker");
    REQUIRE(c.create_container("default", marker, d.rootfs(), {"true"}) ==
            berth::wire::ErrorCode::OK);
    REQUIRE(c.pump_until([&] { return saw(st->events, marker, "/containers/create"); }, 30s));
    require_consecutive(st->events, started + 1);
    REQUIRE(count_of(st->events, id, "/tasks/exit") == 1);
    for (auto& e : st->events) {
      if (e.id == id && e.topic == "/tasks/exit") {
        CHECK(e.exit_code == 137);
        CHECK(e.exec_id.empty());
        if (round == 0) exit_seq = e.sequence;
        CHECK(e.sequence == exit_seq);  // the same event, not a second one
      }
    }
    CHECK(delete_container(c, marker) == "");
    if (round == 0) {
      c.pump_until([] { return false; }, 200ms);
      d.stop();
      d.start();
    } else {
      CHECK(c.remove("default", id) == "");
    }
  }
}

TEST_CASE("since older than the log or past its end is refused with a clear error",
          "[daemon][events]") {
  berthd_process d{{{"--event-retention", "3"}}};
  api_client c{d.address()};
  for (int i = 0; i < 3; ++i) {
    auto id = unique("prune");
    REQUIRE(c.create_container("default", id, d.rootfs(), {"true"}) == berth::wire::ErrorCode::OK);
    REQUIRE(delete_container(c, id) == "");
  }
  std::vector<berth::wire::api::Subscription::Client> keep;
  auto pruned = subscribe(c, std::make_shared<sink_state>(), keep, 1);
  CHECK(pruned ==
        "cannot replay events after 1: events up to 3 were pruned (berthd keeps the newest 3); "
        "resubscribe with --since 3 to start at the oldest kept event");
  auto ahead = subscribe(c, std::make_shared<sink_state>(), keep, 99);
  CHECK(ahead == "cannot replay events after 99: the newest event is 6");
  CHECK(subscribe(c, std::make_shared<sink_state>(), keep, 3) == "");
}

TEST_CASE("subscribing with since during live activity: no gap and no repeat at the seam",
          "[daemon][events]") {
  berthd_process d;
  const int n = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(unique("seam"));
  std::thread writer([&] {
    api_client w{d.address()};
    for (auto& id : ids) {
      w.create_container("default", id, d.rootfs(), {"true"});
      delete_container(w, id);
    }
  });
  // Subscribe while the writer is busy: part replay, part live.
  std::this_thread::sleep_for(100ms);
  api_client c{d.address()};
  auto st = std::make_shared<sink_state>();
  std::vector<berth::wire::api::Subscription::Client> keep;
  REQUIRE(subscribe(c, st, keep, 0) == "");
  bool all = c.pump_until([&] { return saw(st->events, ids.back(), "/containers/delete"); }, 60s);
  writer.join();
  REQUIRE(all);
  require_consecutive(st->events, 1);
  for (auto& id : ids) {
    CHECK(count_of(st->events, id, "/containers/create") == 1);
    CHECK(count_of(st->events, id, "/containers/delete") == 1);
  }
}

TEST_CASE("a subscriber that never returns is dropped with a notice; the others go on",
          "[daemon][events]") {
  berthd_process d{{{"--event-subscriber-limit", "10"}}};
  api_client c{d.address()};
  auto slow = std::make_shared<sink_state>();
  slow->stall = true;
  auto good = std::make_shared<sink_state>();
  std::vector<berth::wire::api::Subscription::Client> keep;
  REQUIRE(subscribe(c, slow, keep, std::nullopt) == "");
  REQUIRE(subscribe(c, good, keep, std::nullopt) == "");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(unique("slow"));
    REQUIRE(c.create_container("default", ids.back(), d.rootfs(), {"true"}) ==
            berth::wire::ErrorCode::OK);
    REQUIRE(delete_container(c, ids.back()) == "");
  }
  REQUIRE(c.pump_until([&] { return !slow->too_slow.empty(); }, 30s));
  CHECK_THAT(slow->too_slow,
             Catch::Matches("subscriber too slow: [0-9]+ events behind; resubscribe with "
                            "--since 0"));
  CHECK(slow->events.size() == 1);  // it stalled on its first event; nothing after
  // The well-behaved subscriber got everything, and keeps getting events.
  REQUIRE(c.pump_until([&] { return saw(good->events, ids.back(), "/containers/delete"); }, 30s));
  require_consecutive(good->events, 1);
  auto after = unique("after");
  REQUIRE(c.create_container("default", after, d.rootfs(), {"true"}) == berth::wire::ErrorCode::OK);
  REQUIRE(c.pump_until([&] { return saw(good->events, after, "/containers/create"); }, 30s));
  CHECK(slow->events.size() == 1);
  CHECK_THAT(d.log(), Catch::Contains("events: dropped a subscriber: subscriber too slow"));
}
