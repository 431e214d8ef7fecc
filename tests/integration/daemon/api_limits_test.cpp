// The API boundary against a real berthd: invalid UTF-8 in each string field
// of create, exec and import, oversized lists, a message past the reader
// limits, and 10,000 calls at once on one connection. Each is refused with a
// message naming what was wrong, no actor dies, and the daemon (and the same
// connection, where it survives) serves the next request. Every call here has
// a deadline, so a daemon that hangs fails the test instead of stalling it.
#include <catch2/catch.hpp>

#include <capnp/ez-rpc.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <functional>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;
using wire::api::Berth;
using wire::api::Task;

namespace {

constexpr auto kDeadline = 20 * kj::SECONDS;

// A Cap'n Proto client of its own whose every wait has a deadline.
class bounded_client {
 public:
  explicit bounded_client(const std::string& address)
      : rpc_(address), berth_(rpc_.getMain<Berth>()) {}

  Berth::Client& berth() { return berth_; }
  kj::WaitScope& ws() { return rpc_.getWaitScope(); }
  kj::Timer& timer() { return rpc_.getIoProvider().getTimer(); }

  template <class Request>
  auto send(Request& req) {
    return timer().timeoutAfter(kDeadline, req.send()).wait(ws());
  }

  // Waits for `p` within the deadline.
  template <class T>
  T wait(kj::Promise<T>&& p) {
    return timer().timeoutAfter(kDeadline, kj::mv(p)).wait(ws());
  }

  std::string version() {
    auto v = berth_.versionRequest();
    v.initReq();
    return send(v).getResp().getVersion().cStr();
  }

  Task::Client task(const std::string& id) {
    auto g = berth_.getTaskRequest();
    g.initReq().setId(id);
    auto resp = send(g);
    REQUIRE(error_of(resp.getResp()) == "");
    return resp.getResp().getTask();
  }

 private:
  capnp::EzRpcClient rpc_;
  Berth::Client berth_;
};

// A createContainer that would succeed, then `spoil` breaks one field.
std::string create_with(
    bounded_client& c, const std::string& rootfs,
    const std::function<void(wire::api::CreateContainerRequest::Builder)>& spoil,
    wire::ErrorCode* code = nullptr) {
  auto req = c.berth().createContainerRequest();
  auto r = req.initReq();
  r.setId("spoiled");
  auto o = r.initOptions();
  o.setRootfs(rootfs);
  o.initProcess().initArgs(1).set(0, "true");
  spoil(r);
  auto resp = c.send(req).getResp();
  if (code) *code = resp.hasError() ? resp.getError().getCode() : wire::ErrorCode::OK;
  return error_of(resp);
}

std::string utf8_refusal(const std::string& method, const std::string& field) {
  return "invalid argument: " + method + " " + field + ": not valid UTF-8";
}

// A full lifecycle on a fresh client: create, start, delete.
void still_serving(berthd_process& d, const std::string& id) {
  api_client c(d.address());
  REQUIRE(c.create_container("", id, d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  std::string err;
  c.run("default", id, &err);
  REQUIRE(err == "");
  CHECK(c.status("default", id) == wire::TaskStatus::RUNNING);
  CHECK(c.remove("default", id) == "");
  CHECK_THAT(d.log(), !Contains("unhandled exception"));
}

}  // namespace

TEST_CASE("invalid UTF-8 in each string field of create is refused by name",
          "[daemon][api][bad-input][limits]") {
  berthd_process d;
  bounded_client c(d.address());
  auto rootfs = d.rootfs();
  using R = wire::api::CreateContainerRequest::Builder;
  const std::vector<std::pair<std::string, std::function<void(R)>>> fields = {
      {"namespace", [](R r) { r.setNamespace("ns\xff"); }},
      {"id", [](R r) { r.setId("web\xff"); }},
      {"image", [](R r) { r.setImage("busybox\xff"); }},
      {"runtime", [](R r) { r.setRuntime("io.berth.runc.v1\xff"); }},
      {"labels[0].key", [](R r) { r.initLabels(1)[0].setKey("k\xff"); }},
      {"labels[0].value", [](R r) { r.initLabels(1)[0].setValue("v\xff"); }},
      {"options.process.args[0]",
       [](R r) { r.getOptions().getProcess().getArgs().set(0, "\xff"); }},
      {"options.process.env[0]",
       [](R r) { r.getOptions().getProcess().initEnv(1).set(0, "X=\377"); }},
      {"options.process.cwd", [](R r) { r.getOptions().getProcess().setCwd("/\xff"); }},
      {"options.process.user.name",
       [](R r) { r.getOptions().getProcess().initUser().setName("n\xff"); }},
      {"options.process.ociJson", [](R r) { r.getOptions().getProcess().setOciJson("{\xff}"); }},
      {"options.mounts[0].type", [](R r) { r.getOptions().initMounts(1)[0].setType("b\xff"); }},
      {"options.mounts[0].source", [](R r) { r.getOptions().initMounts(1)[0].setSource("/\xff"); }},
      {"options.mounts[0].destination",
       [](R r) { r.getOptions().initMounts(1)[0].setDestination("/\xff"); }},
      {"options.mounts[0].options[0]",
       [](R r) { r.getOptions().initMounts(1)[0].initOptions(1).set(0, "r\xff"); }},
      {"options.rootfs", [](R r) { r.getOptions().setRootfs("/\xff"); }},
      {"options.hostname", [](R r) { r.getOptions().setHostname("h\xff"); }},
  };
  for (const auto& [field, spoil] : fields) {
    INFO("field " << field);
    auto code = wire::ErrorCode::OK;
    CHECK_THAT(create_with(c, rootfs, spoil, &code),
               StartsWith(utf8_refusal("createContainer", field)));
    CHECK(code == wire::ErrorCode::INVALID_ARGUMENT);
  }
  // The same connection goes on: nothing was created, a good create works.
  auto list = c.berth().listContainersRequest();
  list.initReq();
  CHECK(c.send(list).getResp().getContainers().size() == 0);
  CHECK(create_with(c, rootfs, [](R) {}) == "");
  still_serving(d, "after-create");
}

TEST_CASE("invalid UTF-8 in the strings of createTask, exec, kill, images, namespaces and events",
          "[daemon][api][bad-input][limits]") {
  berthd_process d;
  bounded_client c(d.address());
  api_client helper(d.address());
  REQUIRE(helper.create_container("", "live", d.rootfs(), {"sleep", "1000"}) ==
          wire::ErrorCode::OK);

  {  // createTask's stdio and checkpoint
    auto ct = c.berth().createTaskRequest();
    auto r = ct.initReq();
    r.setId("live");
    r.initStdio().setStdout("/tmp/out\xff");
    CHECK_THAT(error_of(c.send(ct).getResp()),
               StartsWith(utf8_refusal("createTask", "stdio.stdout")));
    auto ct2 = c.berth().createTaskRequest();
    ct2.initReq().setId("live");
    ct2.getReq().setCheckpoint("/tmp/cp\xff");
    CHECK_THAT(error_of(c.send(ct2).getResp()),
               StartsWith(utf8_refusal("createTask", "checkpoint")));
  }

  std::string err;
  helper.run("default", "live", &err);
  REQUIRE(err == "");
  auto task = c.task("live");

  using X = wire::api::ExecRequest::Builder;
  const std::vector<std::pair<std::string, std::function<void(X)>>> exec_fields = {
      {"execId", [](X x) { x.setExecId("e\xff"); }},
      {"spec.args[0]", [](X x) { x.getSpec().getArgs().set(0, "\xff"); }},
      {"spec.env[0]", [](X x) { x.getSpec().initEnv(1).set(0, "A=\xc3"); }},
      {"spec.cwd", [](X x) { x.getSpec().setCwd("/\xff"); }},
      {"spec.user.name", [](X x) { x.getSpec().initUser().setName("\xff"); }},
      {"spec.ociJson", [](X x) { x.getSpec().setOciJson("{\"args\":[\"\xff\"]}"); }},
      {"stdio.stdin", [](X x) { x.initStdio().setStdin("/\xff"); }},
      {"stdio.stdout", [](X x) { x.initStdio().setStdout("/\xff"); }},
      {"stdio.stderr", [](X x) { x.initStdio().setStderr("/\xff"); }},
  };
  for (const auto& [field, spoil] : exec_fields) {
    INFO("exec field " << field);
    auto req = task.execRequest();
    auto x = req.initReq();
    x.setExecId("probe");
    x.initSpec().initArgs(1).set(0, "true");
    spoil(x);
    CHECK_THAT(error_of(c.send(req).getResp()), StartsWith(utf8_refusal("exec", field)));
  }
  {  // kill, start, wait with a bad exec id
    auto k = task.killRequest();
    k.initReq().setExecId("\xff");
    k.getReq().setSignal(9);
    CHECK_THAT(error_of(c.send(k).getResp()), StartsWith(utf8_refusal("kill", "execId")));
    auto s = task.startRequest();
    s.initReq().setExecId("\xff");
    CHECK_THAT(error_of(c.send(s).getResp()), StartsWith(utf8_refusal("start", "execId")));
    auto w = task.waitRequest();
    w.initReq().setExecId("\xff");
    CHECK_THAT(error_of(c.send(w).getResp()), StartsWith(utf8_refusal("wait", "execId")));
  }
  {  // import's path, name and platform; tag; get; remove
    auto imp = [&](const std::function<void(wire::api::ImportImageRequest::Builder)>& spoil) {
      auto req = c.berth().importImageRequest();
      auto r = req.initReq();
      r.setArchivePath("/tmp/image.tar");
      spoil(r);
      return error_of(c.send(req).getResp());
    };
    CHECK_THAT(imp([](auto r) { r.setArchivePath("/tmp/\xff.tar"); }),
               StartsWith(utf8_refusal("importImage", "archivePath")));
    CHECK_THAT(imp([](auto r) { r.setName("img\xff"); }),
               StartsWith(utf8_refusal("importImage", "name")));
    CHECK_THAT(imp([](auto r) { r.setPlatform("linux/\xff"); }),
               StartsWith(utf8_refusal("importImage", "platform")));
    CHECK_THAT(imp([](auto r) { r.setNamespace("\xff"); }),
               StartsWith(utf8_refusal("importImage", "namespace")));
    auto tag = c.berth().tagImageRequest();
    tag.initReq().setSource("a");
    tag.getReq().setTarget("b\xff");
    CHECK_THAT(error_of(c.send(tag).getResp()), StartsWith(utf8_refusal("tagImage", "target")));
    auto get = c.berth().getImageRequest();
    get.initReq().setName("\xff");
    CHECK_THAT(error_of(c.send(get).getResp()), StartsWith(utf8_refusal("getImage", "name")));
    auto rm = c.berth().removeImageRequest();
    rm.initReq().setName("\xff");
    CHECK_THAT(error_of(c.send(rm).getResp()), StartsWith(utf8_refusal("removeImage", "name")));
  }
  {  // namespaces, labels, events
    auto ns = c.berth().createNamespaceRequest();
    ns.initReq().setName("n\xff");
    CHECK_THAT(error_of(c.send(ns).getResp()), StartsWith(utf8_refusal("createNamespace", "name")));
    auto up = c.berth().updateContainerRequest();
    up.initReq().setId("live");
    up.getReq().initLabels(1)[0].setValue("\xff");
    CHECK_THAT(error_of(c.send(up).getResp()),
               StartsWith(utf8_refusal("updateContainer", "labels[0].value")));
    auto sub = c.berth().subscribeRequest();
    sub.initReq().initFilter().setNamespace("\xff");
    CHECK_THAT(error_of(c.send(sub).getResp()),
               StartsWith(utf8_refusal("subscribe", "filter.namespace")));
  }
  // The task was never touched and the connection still works.
  CHECK(helper.status("default", "live") == wire::TaskStatus::RUNNING);
  CHECK(c.version() != "");
  CHECK(helper.remove("default", "live") == "");
  still_serving(d, "after-exec");
}

TEST_CASE("oversized lists are refused with their limit", "[daemon][api][bad-input][limits]") {
  berthd_process d;
  bounded_client c(d.address());
  auto rootfs = d.rootfs();
  using R = wire::api::CreateContainerRequest::Builder;
  CHECK(create_with(c, rootfs, [](R r) { r.getOptions().getProcess().initEnv(5000); }) ==
        "invalid argument: createContainer options.process.env: has 5000 entries (limit 4096)");
  CHECK(create_with(c, rootfs,
                    [](R r) {
                      auto env = r.getOptions().getProcess().initEnv(10);
                      for (unsigned i = 0; i < env.size(); ++i)
                        env.set(i, "X=" + std::string(120000, 'x'));
                    }) ==
        "invalid argument: createContainer options.process.env: totals 1200020 bytes "
        "(limit 1048576)");
  CHECK(create_with(c, rootfs, [](R r) { r.getOptions().getProcess().initArgs(4097); }) ==
        "invalid argument: createContainer options.process.args: has 4097 entries (limit 4096)");
  CHECK(create_with(c, rootfs, [](R r) { r.initLabels(1000); }) ==
        "invalid argument: createContainer labels: has 1000 entries (limit 256)");
  CHECK(create_with(c, rootfs, [](R r) { r.getOptions().initMounts(300); }) ==
        "invalid argument: createContainer options.mounts: has 300 entries (limit 256)");
  CHECK(
      create_with(c, rootfs,
                  [](R r) { r.getOptions().getProcess().initUser().initAdditionalGids(100000); }) ==
      "invalid argument: createContainer options.process.user.additionalGids: has 100000 "
      "entries (limit 256)");
  CHECK(create_with(c, rootfs, [](R r) { r.setId(std::string(100000, 'a')); }) ==
        "invalid argument: createContainer id: is 100000 bytes long (limit 4096)");
  CHECK(c.version() != "");
  still_serving(d, "after-lists");
}

TEST_CASE("a message past the reader limits ends only its own connection",
          "[daemon][api][bad-input][limits]") {
  berthd_process d;
  api_client other(d.address());
  {
    bounded_client c(d.address());
    CHECK(c.version() != "");
    // 24 MiB in one message: past the 16 MiB berthd reads from one client.
    auto req = c.berth().createContainerRequest();
    auto r = req.initReq();
    r.setId("huge");
    auto env = r.initOptions().initProcess().initEnv(200);
    for (unsigned i = 0; i < env.size(); ++i) env.set(i, "X=" + std::string(125 * 1024, 'x'));
    std::string why;
    try {
      c.send(req);
      why = "answered";
    } catch (const kj::Exception& e) {
      why = e.getDescription().cStr();
    }
    // The call fails at once, not at the deadline. The client reads the
    // reason when berthd's abort message reaches it before the socket closes
    // under its unfinished write; berthd's log always has it.
    INFO("the client saw: " << why);
    CHECK(why != "answered");
    CHECK_THAT(why, !Contains("timed out"));
    CHECK_THAT(why, Contains("Message is too large") || Contains("Broken pipe") ||
                        Contains("Connection reset") || Contains("disconnected"));
  }
  CHECK_THAT(d.log(), Contains("refused a message and closed the connection") &&
                          Contains("Message is too large"));
  // Another connection was never affected, and a new one is served.
  auto v = other.berth().versionRequest();
  v.initReq();
  CHECK(std::string(other.send(v).getResp().getVersion().cStr()) != "");
  still_serving(d, "after-huge");
}

TEST_CASE("10,000 calls at once on one connection: past 256 in flight each is refused",
          "[daemon][api][bad-input][limits]") {
  berthd_process d;
  api_client helper(d.address());
  REQUIRE(helper.create_container("", "busy", d.rootfs(), {"sleep", "1000"}) ==
          wire::ErrorCode::OK);
  std::string err;
  helper.run("default", "busy", &err);
  REQUIRE(err == "");

  bounded_client c(d.address());
  auto task = c.task("busy");
  // Waits stay in flight until the task exits: the first 256 hold the
  // connection's places, every later one must be refused at once.
  constexpr int kCalls = 10000;
  constexpr int kLimit = 256;
  std::vector<kj::Promise<capnp::Response<Task::WaitResults>>> calls;
  calls.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    auto w = task.waitRequest();
    w.initReq();
    calls.push_back(w.send());
  }
  int refused = 0;
  std::string first_refusal;
  for (int i = kLimit; i < kCalls; ++i) {
    auto resp = c.wait(kj::mv(calls[static_cast<size_t>(i)]));
    auto r = resp.getResp();
    if (r.hasError() && r.getError().getCode() == wire::ErrorCode::UNAVAILABLE) {
      ++refused;
      if (first_refusal.empty()) first_refusal = r.getError().getMessage().cStr();
    }
  }
  CHECK(refused == kCalls - kLimit);
  CHECK_THAT(first_refusal, StartsWith("too many calls in flight on this connection (limit 256)"));

  // Another client is served while the 256 are still in flight.
  auto started = std::chrono::steady_clock::now();
  CHECK(helper.status("default", "busy") == wire::TaskStatus::RUNNING);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));

  // The task exits: the 256 waits are answered with its status...
  auto k = helper.task("default", "busy").killRequest();
  k.initReq().setSignal(9);
  REQUIRE(error_of(helper.send(k).getResp()) == "");
  int answered = 0;
  for (int i = 0; i < kLimit; ++i) {
    auto resp = c.wait(kj::mv(calls[static_cast<size_t>(i)]));
    if (error_of(resp.getResp()) == "" && resp.getResp().getStatus().getSignal() == 9) ++answered;
  }
  CHECK(answered == kLimit);
  // ...and the same connection is served again.
  CHECK(c.version() != "");
  auto again = task.waitRequest();
  again.initReq();
  CHECK(error_of(c.send(again).getResp()) == "");
  CHECK(helper.remove("default", "busy") == "");
  still_serving(d, "after-flood");
}
