// A task by container id, for verbs that act on an existing task: getTask
// is sent and a call on its `task` capability pipelined behind it, so
// `berth t pause web` is one round trip. The getTask answer is checked first,
// so an unknown id reads "task web: <daemon's not-found message>", not a
// null-capability error from the pipelined call.
#pragma once

#include <string>

#include "cli/daemon_client.hpp"

namespace berth::cli {

class task_ref {
 public:
  task_ref(daemon_client& client, const std::string& id);

  // The task's capability; calls on it may be sent at once.
  api::Task::Client& task() { return task_; }

  // Waits for getTask's answer and throws its error, if any.
  api::TaskInfo::Reader info();

  const std::string& id() const { return id_; }

 private:
  daemon_client& client_;
  std::string id_;
  kj::Maybe<capnp::RemotePromise<api::Berth::GetTaskResults>> pending_;
  kj::Maybe<capnp::Response<api::Berth::GetTaskResults>> answer_;
  api::Task::Client task_;
};

// Sends `req`, waits for getTask (errors first) then for the call, checks
// the call's error and returns its response struct's holder.
template <typename Request>
auto call_task(daemon_client& client, task_ref& ref, Request&& req, const std::string& what) {
  auto promise = req.send();
  ref.info();
  auto answer = client.wait(kj::mv(promise), what);
  check(answer.getResp(), what);
  return answer;
}

}  // namespace berth::cli
