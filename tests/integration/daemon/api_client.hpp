// A test's Cap'n Proto client of a real berthd (schema/api.capnp), with
// helpers that do one call and return its response, plus an EventSink that
// collects events.
#pragma once

#include <capnp/ez-rpc.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "schema/api.capnp.h"

namespace berth::test {

struct seen_event {
  std::uint64_t sequence = 0;
  std::string ns, id, topic, exec_id;
  std::int32_t exit_code = 0;
  std::string reason;
};

class api_client {
 public:
  explicit api_client(const std::string& address);  // "unix:/path"

  kj::WaitScope& ws() { return rpc_.getWaitScope(); }
  wire::api::Berth::Client& berth() { return berth_; }

  template <class Request>
  auto send(Request& req) {
    return req.send().wait(ws());
  }

  // createContainer with a prepared rootfs; returns the response's error
  // code (OK when none) and fills `message`.
  wire::ErrorCode create_container(const std::string& ns, const std::string& id,
                                   const std::string& rootfs, const std::vector<std::string>& args,
                                   std::string* message = nullptr, const std::string& runtime = "");
  // createTask + start pipelined; returns the Task (check `error`).
  wire::api::Task::Client run(const std::string& ns, const std::string& id,
                              std::string* error = nullptr, std::uint32_t* pid = nullptr);
  wire::api::Task::Client task(const std::string& ns, const std::string& id);
  // The status the API reports for a task, or UNKNOWN with `error` set.
  wire::TaskStatus status(const std::string& ns, const std::string& id,
                          std::string* error = nullptr);
  std::vector<std::pair<std::string, wire::TaskStatus>> list_tasks(const std::string& ns);
  // Deletes the task (with force) and the container; returns what failed.
  std::string remove(const std::string& ns, const std::string& id);

  // Subscribes; events land in `events` while the client waits.
  // `since`: replay the kept events numbered above it first (the default:
  // only what happens from now on).
  void subscribe(const std::string& ns = "", const std::string& topic_prefix = "",
                 std::uint64_t since = ~std::uint64_t{0});
  std::vector<seen_event> events;
  // Runs the event loop until pred() or the timeout; returns pred().
  bool pump_until(const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  capnp::EzRpcClient rpc_;
  wire::api::Berth::Client berth_;
  std::vector<wire::api::Subscription::Client> subscriptions_;
};

// "code: message" of a response's error, "" when it has none.
template <class Resp>
std::string error_of(Resp resp) {
  if (!resp.hasError() || resp.getError().getCode() == wire::ErrorCode::OK) return "";
  return resp.getError().getMessage().cStr();
}

}  // namespace berth::test
