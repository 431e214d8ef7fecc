#include "cli/task_ref.hpp"

namespace berth::cli {
namespace {

capnp::RemotePromise<api::Berth::GetTaskResults> send_get_task(daemon_client& client,
                                                               const std::string& id) {
  auto req = client.berth().getTaskRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setId(id);
  return req.send();
}

}  // namespace

task_ref::task_ref(daemon_client& client, const std::string& id)
    : client_(client), id_(id), pending_(send_get_task(client, id)), task_(nullptr) {
  KJ_IF_MAYBE (p, pending_) {
    task_ = p->getResp().getTask();
  }
}

api::TaskInfo::Reader task_ref::info() {
  KJ_IF_MAYBE (p, pending_) {
    auto promise = kj::mv(*p);
    pending_ = nullptr;
    auto answer = client_.wait(kj::mv(promise), "task " + id_);
    check(answer.getResp(), "task " + id_);
    answer_ = kj::mv(answer);
  }
  KJ_IF_MAYBE (a, answer_) {
    return a->getResp().getInfo();
  }
  KJ_UNREACHABLE;
}

}  // namespace berth::cli
