#include "api_client.hpp"

#include <kj/async-io.h>

namespace berth::test {
namespace {

class collecting_sink final : public wire::EventSink::Server {
 public:
  explicit collecting_sink(std::vector<seen_event>& out) : out_(out) {}
  kj::Promise<void> publish(PublishContext ctx) override {
    auto e = ctx.getParams().getEvent();
    seen_event s;
    s.sequence = e.getSequence();
    s.ns = e.getNamespace().cStr();
    s.id = e.getId().cStr();
    s.topic = e.getTopic().cStr();
    if (e.isTaskExecAdded()) s.exec_id = e.getTaskExecAdded().getExecId().cStr();
    if (e.isTaskExecStarted()) s.exec_id = e.getTaskExecStarted().getExecId().cStr();
    if (e.isTaskExit()) {
      s.exec_id = e.getTaskExit().getExecId().cStr();
      s.exit_code = e.getTaskExit().getStatus().getCode();
      s.reason = e.getTaskExit().getStatus().getReason().cStr();
    }
    out_.push_back(s);
    return kj::READY_NOW;
  }

 private:
  std::vector<seen_event>& out_;
};

}  // namespace

api_client::api_client(const std::string& address)
    : rpc_(address), berth_(rpc_.getMain<wire::api::Berth>()) {}

wire::ErrorCode api_client::create_container(const std::string& ns, const std::string& id,
                                             const std::string& rootfs,
                                             const std::vector<std::string>& args,
                                             std::string* message, const std::string& runtime) {
  auto req = berth_.createContainerRequest();
  auto r = req.initReq();
  r.setNamespace(ns);
  r.setId(id);
  r.setImage("busybox");
  r.setRuntime(runtime);
  auto o = r.initOptions();
  o.setRootfs(rootfs);
  auto a = o.initProcess().initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i) a.set(i, args[i]);
  auto response = req.send().wait(ws());
  auto resp = response.getResp();
  if (message) *message = error_of(resp);
  return resp.hasError() ? resp.getError().getCode() : wire::ErrorCode::OK;
}

wire::api::Task::Client api_client::run(const std::string& ns, const std::string& id,
                                        std::string* error, std::uint32_t* pid) {
  auto req = berth_.createTaskRequest();
  req.initReq().setNamespace(ns);
  req.getReq().setId(id);
  auto created = req.send();
  // Pipelined: start goes out before create has answered.
  auto start = created.getTask().startRequest();
  start.initReq();
  auto started = start.send();
  auto c = created.wait(ws());
  std::string err = error_of(c.getResp());
  if (err.empty()) {
    auto s = started.wait(ws());
    err = error_of(s.getResp());
    if (pid) *pid = s.getResp().getPid();
  } else {
    started.then([](auto) {}, [](kj::Exception&&) {}).wait(ws());
  }
  if (error) *error = err;
  return c.getTask();
}

wire::api::Task::Client api_client::task(const std::string& ns, const std::string& id) {
  auto req = berth_.getTaskRequest();
  req.initReq().setNamespace(ns);
  req.getReq().setId(id);
  return req.send().wait(ws()).getResp().getTask();
}

wire::TaskStatus api_client::status(const std::string& ns, const std::string& id,
                                    std::string* error) {
  auto req = berth_.getTaskRequest();
  req.initReq().setNamespace(ns);
  req.getReq().setId(id);
  auto response = req.send().wait(ws());
  auto resp = response.getResp();
  if (error) *error = error_of(resp);
  if (!error_of(resp).empty()) return wire::TaskStatus::UNKNOWN;
  return resp.getInfo().getStatus();
}

std::vector<std::pair<std::string, wire::TaskStatus>> api_client::list_tasks(
    const std::string& ns) {
  auto req = berth_.listTasksRequest();
  req.initReq().setNamespace(ns);
  auto response = req.send().wait(ws());
  auto resp = response.getResp();
  std::vector<std::pair<std::string, wire::TaskStatus>> out;
  for (auto t : resp.getTasks()) out.emplace_back(t.getId().cStr(), t.getStatus());
  return out;
}

std::string api_client::remove(const std::string& ns, const std::string& id) {
  std::string failed;
  auto t = task(ns, id);
  auto del = t.deleteRequest();
  del.initReq().setForce(true);
  del.send()
      .then(
          [&](auto r) {
            auto e = error_of(r.getResp());
            if (!e.empty()) failed += "task: " + e + "; ";
          },
          [&](kj::Exception&& e) {
            failed += std::string("task: ") + e.getDescription().cStr() + "; ";
          })
      .wait(ws());
  auto req = berth_.deleteContainerRequest();
  req.initReq().setNamespace(ns);
  req.getReq().setId(id);
  auto e = error_of(req.send().wait(ws()).getResp());
  if (!e.empty()) failed += "container: " + e;
  return failed;
}

void api_client::subscribe(const std::string& ns, const std::string& topic_prefix,
                           std::uint64_t since) {
  auto req = berth_.subscribeRequest();
  auto r = req.initReq();
  r.setSince(since);
  r.initFilter().setNamespace(ns);
  r.getFilter().setTopicPrefix(topic_prefix);
  r.setSink(kj::heap<collecting_sink>(events));
  auto response = req.send().wait(ws());
  auto resp = response.getResp();
  subscriptions_.push_back(resp.getSubscription());
}

bool api_client::pump_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& timer = rpc_.getIoProvider().getTimer();
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    timer.afterDelay(5 * kj::MILLISECONDS).wait(ws());
  }
  return true;
}

}  // namespace berth::test
