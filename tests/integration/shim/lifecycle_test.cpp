// The shim's whole lifecycle through its real socket with real runc:
// create, start, state, pids, pause, resume, exec, kill, wait, delete.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using namespace berth::test;
namespace ws = berth::wire::shim;

namespace {

struct running_shim {
  temp_dir dir{"berth-shim-test"};
  shim_args args;
  std::string address;

  explicit running_shim(const std::string& id, bundle_options opts,
                        const std::string& runtime = "runc") {
    args.id = id;
    args.bundle = dir / "bundle";
    args.runtime = runtime;
    make_busybox_bundle(args.bundle, opts);
    auto r = start_shim(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    address = r.out;
  }
  ~running_shim() {
    // Leave nothing behind even when a test failed half way.
    delete_shim(args);
  }
};

template <typename Resp>
void require_ok(Resp resp) {
  INFO((resp.hasError() ? resp.getError().getMessage().cStr() : ""));
  REQUIRE_FALSE(resp.hasError());
}

ws::CreateResponse::Reader create(shim_client& c, const running_shim& s,
                                  capnp::MallocMessageBuilder& keep, const std::string& out = "",
                                  const std::string& err = "", const std::string& in = "") {
  auto req = c.task().createRequest();
  auto r = req.initReq();
  r.setId(s.args.id);
  r.setBundle(s.args.bundle);
  r.initStdio().setStdout(out);
  r.getStdio().setStderr(err);
  r.getStdio().setStdin(in);
  auto resp = req.send().wait(c.wait_scope());
  keep.setRoot(resp.getResp());
  return keep.getRoot<ws::CreateResponse>().asReader();
}

}  // namespace

TEST_CASE("a container runs through every lifecycle operation", "[shim][runc]") {
  running_shim s("life", {.args = {"sh", "-c", "echo started; sleep 30"}});
  shim_client c(s.address);
  capnp::MallocMessageBuilder keep;
  auto created = create(c, s, keep, s.dir / "out.txt", s.dir / "err.txt");
  require_ok(created);
  CHECK(created.getPid() > 0);

  auto state = [&](const std::string& exec = "") {
    auto req = c.task().stateRequest();
    req.initReq().setExecId(exec);
    return req.send().wait(c.wait_scope());
  };
  CHECK(state().getResp().getStatus() == wire::TaskStatus::CREATED);

  auto start = c.task().startRequest();
  start.initReq();
  auto started = start.send().wait(c.wait_scope());
  require_ok(started.getResp());
  CHECK(started.getResp().getPid() == created.getPid());
  CHECK(state().getResp().getStatus() == wire::TaskStatus::RUNNING);

  {
    auto req = c.task().pidsRequest();
    req.initReq();
    auto pids = req.send().wait(c.wait_scope());
    require_ok(pids.getResp());
    bool found = false;
    for (auto p : pids.getResp().getProcesses()) found |= p.getPid() == created.getPid();
    CHECK(found);
  }

  {
    auto req = c.task().pauseRequest();
    req.initReq();
    require_ok(req.send().wait(c.wait_scope()).getResp());
    CHECK(state().getResp().getStatus() == wire::TaskStatus::PAUSED);
    auto again = c.task().pauseRequest();
    again.initReq();
    auto refused = again.send().wait(c.wait_scope());
    REQUIRE(refused.getResp().hasError());
    CHECK(refused.getResp().getError().getCode() == wire::ErrorCode::FAILED_PRECONDITION);
    CHECK(std::string(refused.getResp().getError().getMessage()) ==
          "cannot pause task life: it is paused");
    auto resume = c.task().resumeRequest();
    resume.initReq();
    require_ok(resume.send().wait(c.wait_scope()).getResp());
    CHECK(state().getResp().getStatus() == wire::TaskStatus::RUNNING);
  }

  // Two execs at once, each with its own exit code.
  for (auto [id, code] : {std::pair{"e1", 5}, std::pair{"e2", 0}}) {
    auto req = c.task().execRequest();
    auto r = req.initReq();
    r.setExecId(id);
    auto args = r.initSpec().initArgs(3);
    args.set(0, "sh");
    args.set(1, "-c");
    args.set(2, "echo from " + std::string(id) + "; exit " + std::to_string(code));
    r.initStdio().setStdout(s.dir / (std::string(id) + ".txt"));
    require_ok(req.send().wait(c.wait_scope()).getResp());
  }
  for (auto id : {"e1", "e2"}) {
    auto req = c.task().startRequest();
    req.initReq().setExecId(id);
    require_ok(req.send().wait(c.wait_scope()).getResp());
  }
  for (auto [id, code] : {std::pair{"e1", 5}, std::pair{"e2", 0}}) {
    auto req = c.task().waitRequest();
    req.initReq().setExecId(id);
    auto w = req.send().wait(c.wait_scope());
    require_ok(w.getResp());
    CHECK(w.getResp().getStatus().getCode() == code);
    CHECK(read_text(s.dir / (std::string(id) + ".txt")) == "from " + std::string(id) + "\n");
  }

  auto kill = c.task().killRequest();
  kill.initReq().setSignal(SIGKILL);
  require_ok(kill.send().wait(c.wait_scope()).getResp());
  auto wait = c.task().waitRequest();
  wait.initReq();
  auto waited = wait.send().wait(c.wait_scope());
  require_ok(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  CHECK(waited.getResp().getStatus().getSignal() == SIGKILL);
  CHECK(state().getResp().getStatus() == wire::TaskStatus::STOPPED);

  auto del = c.task().deleteRequest();
  del.initReq();
  auto deleted = del.send().wait(c.wait_scope());
  require_ok(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 137);

  CHECK(read_text(s.dir / "out.txt") == "started\n");
  auto log = read_text(s.args.bundle + "/task.log");
  CHECK(log.find(" stdout F started\n") != std::string::npos);

  auto shutdown = c.task().shutdownRequest();
  shutdown.initReq();
  require_ok(shutdown.send().wait(c.wait_scope()).getResp());
  int pid = shim_pid(s.args.bundle);
  CHECK(eventually([&] { return !process_alive(pid); }));
}

TEST_CASE("exit codes and output streams reach the caller", "[shim][runc]") {
  running_shim s("codes", {.args = {"sh", "-c", "echo out; echo err >&2; exit 3"}});
  shim_client c(s.address);
  capnp::MallocMessageBuilder keep;
  require_ok(create(c, s, keep, s.dir / "out.txt", s.dir / "err.txt"));
  auto start = c.task().startRequest();
  start.initReq();
  require_ok(start.send().wait(c.wait_scope()).getResp());
  auto wait = c.task().waitRequest();
  wait.initReq();
  auto waited = wait.send().wait(c.wait_scope());
  require_ok(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 3);
  CHECK(read_text(s.dir / "out.txt") == "out\n");
  CHECK(read_text(s.dir / "err.txt") == "err\n");
  auto log = read_text(s.args.bundle + "/task.log");
  CHECK(log.find(" stdout F out\n") != std::string::npos);
  CHECK(log.find(" stderr F err\n") != std::string::npos);
  auto del = c.task().deleteRequest();
  del.initReq();
  auto deleted = del.send().wait(c.wait_scope());
  require_ok(deleted.getResp());
  CHECK(deleted.getResp().getStatus().getCode() == 3);
}

TEST_CASE("create with start runs the container at once (runc run --detach)", "[shim][runc]") {
  running_shim s("onestep", {.args = {"sh", "-c", "echo ran; read line; echo \"got $line\""}});
  shim_client c(s.address);
  auto req = c.task().createRequest();
  auto r = req.initReq();
  r.setId(s.args.id);
  r.setBundle(s.args.bundle);
  r.initStdio().setStdout(s.dir / "out.txt");
  std::string in = s.dir / "in.fifo";
  REQUIRE(::mkfifo(in.c_str(), 0600) == 0);
  int writer = ::open(in.c_str(), O_RDWR | O_CLOEXEC);  // held open: the process waits on it
  r.getStdio().setStdin(in);
  r.setStart(true);
  auto created = req.send().wait(c.wait_scope());
  require_ok(created.getResp());
  auto pid = created.getResp().getPid();
  CHECK(pid > 0);
  // Running without a start call: the state says so, and the process is there.
  auto state = c.task().stateRequest();
  state.initReq();
  auto st = state.send().wait(c.wait_scope());
  require_ok(st.getResp());
  CHECK(st.getResp().getStatus() == wire::TaskStatus::RUNNING);
  CHECK(::kill(static_cast<pid_t>(pid), 0) == 0);
  // A start of init now is refused: it is not in the created state.
  auto start = c.task().startRequest();
  start.initReq();
  CHECK(start.send().wait(c.wait_scope()).getResp().hasError());

  REQUIRE(::write(writer, "hello\n", 6) == 6);
  ::close(writer);
  auto wait = c.task().waitRequest();
  wait.initReq();
  auto waited = wait.send().wait(c.wait_scope());
  require_ok(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  CHECK(read_text(s.dir / "out.txt") == "ran\ngot hello\n");
  auto del = c.task().deleteRequest();
  del.initReq();
  require_ok(del.send().wait(c.wait_scope()).getResp());
}
