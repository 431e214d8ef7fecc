// The Cap'n Proto face of a task: schema/shim.capnp's Task interface. It
// only translates: requests into calls on `task`, results and failures into
// response structs. It never throws at the client; every failure is an
// `error` field with a stable code.
#pragma once

#include "schema/shim.capnp.h"
#include "shim/core/task.hpp"

namespace berth::shim {

inline constexpr const char* kShimVersion = "0.1.0";

class task_service final : public wire::shim::Task::Server {
 public:
  explicit task_service(task& t) : task_(t) {}

 protected:
  kj::Promise<void> create(CreateContext context) override;
  kj::Promise<void> start(StartContext context) override;
  kj::Promise<void> state(StateContext context) override;
  kj::Promise<void> pids(PidsContext context) override;
  kj::Promise<void> pause(PauseContext context) override;
  kj::Promise<void> resume(ResumeContext context) override;
  kj::Promise<void> kill(KillContext context) override;
  kj::Promise<void> exec(ExecContext context) override;
  kj::Promise<void> wait(WaitContext context) override;
  kj::Promise<void> delete_(DeleteContext context) override;
  kj::Promise<void> closeIo(CloseIoContext context) override;
  kj::Promise<void> attach(AttachContext context) override;
  kj::Promise<void> resizePty(ResizePtyContext context) override;
  kj::Promise<void> update(UpdateContext context) override;
  kj::Promise<void> stats(StatsContext context) override;
  kj::Promise<void> checkpoint(CheckpointContext context) override;
  kj::Promise<void> shutdown(ShutdownContext context) override;
  kj::Promise<void> connect(ConnectContext context) override;
  kj::Promise<void> subscribe(SubscribeContext context) override;

 private:
  task& task_;
};

}  // namespace berth::shim
