#include "cli/task_session.hpp"

#include <unistd.h>

#include "cli/terminal.hpp"

namespace berth::cli {
namespace {

namespace api = wire::api;

kj::Promise<void> forward_signal(kj::UnixEventPort& port, api::Task::Client task,
                                 std::string exec_id, int signo) {
  return port.onSignal(signo).then([&port, task, exec_id, signo](siginfo_t) mutable {
    auto req = task.killRequest();
    auto r = req.initReq();
    r.setExecId(exec_id);
    r.setSignal(static_cast<uint32_t>(signo));
    // A process that is already gone answers notFound: nothing to report.
    return req.send()
        .then([](auto&&) {}, [](kj::Exception&&) {})
        .then([&port, task, exec_id, signo]() mutable {
          return forward_signal(port, kj::mv(task), kj::mv(exec_id), signo);
        });
  });
}

kj::Promise<void> follow_window_size(kj::UnixEventPort& port, api::Task::Client task,
                                     std::string exec_id) {
  return port.onSignal(SIGWINCH).then([&port, task, exec_id](siginfo_t) mutable {
    return send_window_size(task, exec_id).then([&port, task, exec_id]() mutable {
      return follow_window_size(port, kj::mv(task), kj::mv(exec_id));
    });
  });
}

// Our stdin ended (the copier closed the FIFO): tell the shim as well, so a
// process reading stdin sees EOF even if the FIFO's close went unnoticed.
kj::Promise<void> close_io_on_eof(kj::AsyncIoContext& io, int fd, api::Task::Client task,
                                  std::string exec_id) {
  auto stream = io.lowLevelProvider->wrapInputFd(fd);
  auto buffer = kj::heapArray<kj::byte>(1);
  auto read = stream->tryRead(buffer.begin(), 1, 1);
  return read.attach(kj::mv(stream), kj::mv(buffer)).then([task, exec_id](size_t) mutable {
    auto req = task.closeIoRequest();
    req.initReq().setExecId(exec_id);
    req.getReq().setStdin(true);
    return req.send().then([](auto&&) {}, [](kj::Exception&&) {});
  });
}

}  // namespace

kj::Promise<void> send_window_size(api::Task::Client task, const std::string& exec_id) {
  auto size = terminal_size(STDIN_FILENO);
  if (!size) size = terminal_size(STDOUT_FILENO);
  if (!size) return kj::READY_NOW;
  auto req = task.resizePtyRequest();
  auto r = req.initReq();
  r.setExecId(exec_id);
  r.setWidth(size->columns);
  r.setHeight(size->rows);
  return req.send().then([](auto&&) {}, [](kj::Exception&&) {});
}

int attach_until_exit(daemon_client& client, api::Task::Client task, attached_io& io,
                      const std::string& exec_id, bool terminal, const std::string& what) {
  auto& port = client.io().unixEventPort;
  io.start_input();

  kj::Vector<kj::Promise<void>> helpers;
  // With a raw terminal, Ctrl-C is a byte for the container's pty; only a
  // SIGINT from elsewhere (kill) arrives here, and it is forwarded the same.
  helpers.add(forward_signal(port, task, exec_id, SIGINT).eagerlyEvaluate(nullptr));
  helpers.add(forward_signal(port, task, exec_id, SIGTERM).eagerlyEvaluate(nullptr));
  if (terminal) {
    helpers.add(send_window_size(task, exec_id).eagerlyEvaluate(nullptr));
    helpers.add(follow_window_size(port, task, exec_id).eagerlyEvaluate(nullptr));
  }
  helpers.add(close_io_on_eof(client.io(), io.stdin_closed_fd(), task, exec_id)
                  .eagerlyEvaluate([](kj::Exception&&) {}));

  auto req = task.waitRequest();
  req.initReq().setExecId(exec_id);
  auto resp = client.wait_unbounded(req.send(), "wait for " + what);
  io.finish();
  check(resp.getResp(), "wait for " + what);
  return resp.getResp().getStatus().getCode();
}

}  // namespace berth::cli
