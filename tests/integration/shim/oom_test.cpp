// The kernel's OOM killer acting in a task's memory cgroup becomes a
// /tasks/oom event for the subscriber, followed by the exit (SIGKILL).
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using namespace berth::test;

namespace {

class collecting_sink final : public wire::EventSink::Server {
 public:
  explicit collecting_sink(std::vector<std::string>& topics) : topics_(topics) {}

 protected:
  kj::Promise<void> publish(PublishContext context) override {
    topics_.push_back(context.getParams().getEvent().getTopic());
    return kj::READY_NOW;
  }

 private:
  std::vector<std::string>& topics_;
};

}  // namespace

TEST_CASE("an OOM kill is published as a task oom event", "[shim][runc]") {
  temp_dir dir("berth-oom");
  shim_args args;
  args.id = "oom";
  args.bundle = dir / "bundle";
  // A shell variable that grows without bound, in a 16 MiB cgroup.
  make_busybox_bundle(args.bundle, {.args = {"sh", "-c", "x=a; while true; do x=$x$x; done"}});
  {
    nlohmann::json config = nlohmann::json::parse(std::ifstream(args.bundle + "/config.json"));
    config["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
    std::ofstream(args.bundle + "/config.json") << config.dump();
  }
  auto started = start_shim(args);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  std::vector<std::string> topics;
  {
    shim_client c(started.out);
    auto sub = c.task().subscribeRequest();
    sub.initReq().setSink(kj::heap<collecting_sink>(topics));
    sub.send().wait(c.wait_scope());

    auto create = c.task().createRequest();
    create.initReq().setId(args.id);
    create.getReq().setBundle(args.bundle);
    auto created = create.send().wait(c.wait_scope());
    INFO(created.getResp().getError().getMessage().cStr());
    REQUIRE_FALSE(created.getResp().hasError());
    auto start = c.task().startRequest();
    start.initReq();
    REQUIRE_FALSE(start.send().wait(c.wait_scope()).getResp().hasError());

    auto wait = c.task().waitRequest();
    wait.initReq();
    auto waited = wait.send().wait(c.wait_scope());
    REQUIRE_FALSE(waited.getResp().hasError());
    CHECK(waited.getResp().getStatus().getSignal() == 9);
    // Let the last events arrive.
    c.io().provider->getTimer().afterDelay(200 * kj::MILLISECONDS).wait(c.wait_scope());

    auto del = c.task().deleteRequest();
    del.initReq();
    del.send().wait(c.wait_scope());
    auto shutdown = c.task().shutdownRequest();
    shutdown.initReq();
    shutdown.send().wait(c.wait_scope());
  }
  INFO("topics: " << Catch::Detail::stringify(topics));
  auto oom = std::find(topics.begin(), topics.end(), "/tasks/oom");
  auto exit = std::find(topics.begin(), topics.end(), "/tasks/exit");
  CHECK(oom != topics.end());
  CHECK(exit != topics.end());
  CHECK(oom < exit);
  delete_shim(args);
}
