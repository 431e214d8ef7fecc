// Events from a real shim to an EventSink the test serves: their order and
// numbers, exec exits before init's, and an exit published while nobody
// listened, delivered once (with its own number) to the next subscriber.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

struct seen_event {
  uint64_t sequence = 0;
  std::string topic, id, exec_id;
  int code = -1;  // exit and delete events
};

using event_log = std::shared_ptr<std::vector<seen_event>>;

// What berthd would be: records every event and acknowledges it by returning.
class recording_sink final : public wire::EventSink::Server {
 public:
  // A sink given `refuse` fails every event of that topic: the event is not
  // acknowledged, as when berthd crashes while handling it.
  explicit recording_sink(event_log log, std::string refuse = "")
      : log_(std::move(log)), refuse_(std::move(refuse)) {}

 protected:
  kj::Promise<void> publish(PublishContext context) override {
    auto e = context.getParams().getEvent();
    if (!refuse_.empty() && e.getTopic() == refuse_) {
      return KJ_EXCEPTION(FAILED, "test sink refuses", refuse_.c_str());
    }
    seen_event s{e.getSequence(), e.getTopic(), e.getId(), {}, -1};
    if (e.isTaskExit()) {
      s.exec_id = e.getTaskExit().getExecId();
      s.code = e.getTaskExit().getStatus().getCode();
    } else if (e.isTaskDelete()) {
      s.code = e.getTaskDelete().getStatus().getCode();
    } else if (e.isTaskExecAdded()) {
      s.exec_id = e.getTaskExecAdded().getExecId();
    } else if (e.isTaskExecStarted()) {
      s.exec_id = e.getTaskExecStarted().getExecId();
    }
    log_->push_back(s);
    return kj::READY_NOW;
  }

 private:
  event_log log_;
  std::string refuse_;
};

event_log subscribe(shim_client& c, uint64_t after = 0, const std::string& refuse = "") {
  auto log = std::make_shared<std::vector<seen_event>>();
  auto req = c.task().subscribeRequest();
  auto r = req.initReq();
  r.setSink(kj::heap<recording_sink>(log, refuse));
  r.setAfterSequence(after);
  REQUIRE_OK(answer(c, req.send(), "subscribe").getResp());
  return log;
}

std::vector<std::string> topics(const std::vector<seen_event>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(e.topic + (e.exec_id.empty() ? "" : " " + e.exec_id));
  return out;
}

size_t count_topic(const std::vector<seen_event>& events, const std::string& topic) {
  size_t n = 0;
  for (auto& e : events) n += e.topic == topic;
  return n;
}

void check_numbered(const std::vector<seen_event>& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    INFO("event " << i << " " << events[i].topic);
    CHECK(events[i].sequence == events[i - 1].sequence + 1);
  }
}

}  // namespace

TEST_CASE("a task's events arrive in order with increasing numbers", "[shim][runc][events]") {
  test_shim s("ev-order", {.args = {"sh", "-c", "exit 2"}});
  shim_client c(s.address);
  auto log = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return log->size() >= 4; }));
  c.pump(200);  // nothing more may come

  CHECK(topics(*log) ==
        std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"});
  CHECK(log->front().sequence == 1);
  check_numbered(*log);
  for (auto& e : *log) CHECK(e.id == "ev-order");
  CHECK((*log)[2].code == 2);
  CHECK((*log)[3].code == 2);
}

TEST_CASE("an exec's exit is published before init's", "[shim][runc][events]") {
  test_shim s("ev-exec", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto log = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::exec(c, "quick", {"sh", "-c", "exit 5"}).getResp());
  REQUIRE_OK(rpc::start(c, "quick").getResp());
  REQUIRE_OK(rpc::wait(c, "quick").getResp());
  // This one dies with init: the kernel ends the whole pid namespace at once,
  // and the shim must still publish it first.
  REQUIRE_OK(rpc::exec(c, "long", {"sleep", "30"}).getResp());
  REQUIRE_OK(rpc::start(c, "long").getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  auto exec_waited = rpc::wait(c, "long");
  REQUIRE_OK(exec_waited.getResp());
  CHECK(exec_waited.getResp().getStatus().getCode() == 137);
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return count_topic(*log, "/tasks/delete") == 1; }));
  c.pump(200);

  CHECK(topics(*log) ==
        std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added quick",
                                 "/tasks/exec-started quick", "/tasks/exit quick",
                                 "/tasks/exec-added long", "/tasks/exec-started long",
                                 "/tasks/exit long", "/tasks/exit", "/tasks/delete"});
  check_numbered(*log);
}

TEST_CASE("an exit published while nobody listens is delivered once on reconnect",
          "[shim][runc][events]") {
  test_shim s("ev-away", {.args = {"sleep", "1"}});
  shim_client c(s.address);
  auto first = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE(c.pump_until([&] { return first->size() == 2; }));
  const uint64_t last_seen = first->back().sequence;
  CHECK(first->back().topic == "/tasks/start");

  // The daemon goes away; the container exits meanwhile.
  c.disconnect();

  // The exit happened before anyone subscribes again: wait for it, however
  // long a loaded machine takes over `sleep 1`.
  c.reconnect(s.address);
  REQUIRE(eventually(
      [&] { return rpc::state(c).getResp().getStatus() == wire::TaskStatus::STOPPED; }, 30000));
  auto second = subscribe(c, last_seen);
  REQUIRE(c.pump_until([&] { return !second->empty(); }));
  c.pump(500);  // a duplicate would arrive now
  REQUIRE(second->size() == 1);
  CHECK(second->front().topic == "/tasks/exit");
  CHECK(second->front().sequence == last_seen + 1);
  CHECK(second->front().code == 0);
  // Events before the exit (numbered <= last_seen) are not sent again.
  CHECK(count_topic(*first, "/tasks/exit") == 0);

  // Numbering goes on from there.
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return second->size() == 2; }));
  CHECK(second->back().topic == "/tasks/delete");
  CHECK(second->back().sequence == last_seen + 2);
}

TEST_CASE("an exit the sink failed to take is sent again to the next sink",
          "[shim][runc][events]") {
  test_shim s("ev-refused", {.args = {"sh", "-c", "exit 8"}});
  shim_client c(s.address);
  auto first = subscribe(c, 0, "/tasks/exit");
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  c.pump(300);
  REQUIRE(topics(*first) == std::vector<std::string>{"/tasks/create", "/tasks/start"});
  // Nothing goes to a sink that failed, not even later events.
  REQUIRE_OK(rpc::remove(c).getResp());
  c.pump(200);
  CHECK(first->size() == 2);

  auto second = subscribe(c, first->back().sequence);
  REQUIRE(c.pump_until([&] { return second->size() >= 2; }));
  c.pump(300);
  CHECK(topics(*second) == std::vector<std::string>{"/tasks/exit", "/tasks/delete"});
  CHECK(second->front().sequence == 3);
  CHECK(second->front().code == 8);
  check_numbered(*second);
}

TEST_CASE("a new subscriber replaces the old one and gets what was not acknowledged",
          "[shim][runc][events]") {
  test_shim s("ev-replace", {.args = {"sh", "-c", "exit 9"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  // Nobody subscribed so far: everything is still queued, with its number.
  auto log = subscribe(c);
  REQUIRE(c.pump_until([&] { return log->size() == 3; }));
  CHECK(topics(*log) == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"});
  CHECK(log->front().sequence == 1);
  check_numbered(*log);
  // Acknowledged events are gone: a second subscriber starts from scratch.
  auto later = subscribe(c, 0);
  c.pump(300);
  CHECK(later->empty());
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return later->size() == 1; }));
  CHECK(later->front().topic == "/tasks/delete");
  CHECK(later->front().sequence == 4);
  CHECK(log->size() == 3);  // the replaced sink hears nothing more
}

TEST_CASE("pause and resume are published", "[shim][runc][events]") {
  test_shim s("ev-pause", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto log = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::pause(c).getResp());
  REQUIRE_OK(rpc::resume(c).getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return log->size() >= 6; }));
  c.pump(200);
  CHECK(topics(*log) == std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/paused",
                                                 "/tasks/resumed", "/tasks/exit", "/tasks/delete"});
  check_numbered(*log);
}

TEST_CASE("a task deleted before it ran publishes its exit, then its delete",
          "[shim][runc][events]") {
  test_shim s("ev-unrun", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto log = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  auto deleted = rpc::remove(c);
  REQUIRE_OK(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 137);
  REQUIRE(c.pump_until([&] { return count_topic(*log, "/tasks/delete") == 1; }));
  c.pump(2500);  // past the shim's output-drain timeout: a late exit would show
  CHECK(topics(*log) == std::vector<std::string>{"/tasks/create", "/tasks/exit", "/tasks/delete"});
  check_numbered(*log);
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
}

TEST_CASE("a task deleted right after it stopped publishes exit before delete",
          "[shim][runc][events]") {
  test_shim s("ev-fast-delete", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto log = subscribe(c);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  // No wait: delete as soon as the state says stopped.
  REQUIRE(
      eventually([&] { return rpc::state(c).getResp().getStatus() == wire::TaskStatus::STOPPED; }));
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE(c.pump_until([&] { return count_topic(*log, "/tasks/delete") == 1; }));
  c.pump(2500);
  CHECK(topics(*log) ==
        std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"});
  check_numbered(*log);
}
