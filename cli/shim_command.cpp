#include "cli/shim_command.hpp"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "schema/shim.capnp.h"

namespace berth::cli {
namespace {

namespace ws = wire::shim;

struct shim_options {
  std::string address;
  std::string id, bundle, exec_id;
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
  int signal = SIGTERM;
  bool all = false;
  bool now = false;
  std::vector<std::string> args;
  std::string verb;
};

shim_options opts;

const char* code_name(wire::ErrorCode c) {
  switch (c) {
    case wire::ErrorCode::NOT_FOUND:
      return "not found";
    case wire::ErrorCode::ALREADY_EXISTS:
      return "already exists";
    case wire::ErrorCode::FAILED_PRECONDITION:
      return "failed precondition";
    case wire::ErrorCode::INVALID_ARGUMENT:
      return "invalid argument";
    case wire::ErrorCode::UNAVAILABLE:
      return "unavailable";
    case wire::ErrorCode::NOT_IMPLEMENTED:
      return "not implemented";
    case wire::ErrorCode::DEADLINE_EXCEEDED:
      return "deadline exceeded";
    default:
      return "internal";
  }
}

// Prints `berth: shim <verb>: <message> (<code>)` and returns 1 on error.
template <typename Resp>
int report(Resp resp) {
  if (!resp.hasError()) return 0;
  std::cerr << "berth: shim " << opts.verb << ": " << resp.getError().getMessage().cStr() << " ("
            << code_name(resp.getError().getCode()) << ")\n";
  return 1;
}

const char* status_name(wire::TaskStatus s) {
  switch (s) {
    case wire::TaskStatus::CREATED:
      return "CREATED";
    case wire::TaskStatus::RUNNING:
      return "RUNNING";
    case wire::TaskStatus::PAUSED:
      return "PAUSED";
    case wire::TaskStatus::STOPPED:
      return "STOPPED";
    case wire::TaskStatus::CREATED_CHECKPOINT:
      return "CREATED_CHECKPOINT";
    case wire::TaskStatus::DELETED:
      return "DELETED";
    default:
      return "UNKNOWN";
  }
}

int run(ws::Task::Client task, kj::WaitScope& ws) {
  const std::string& v = opts.verb;
  if (v == "create") {
    auto req = task.createRequest();
    auto r = req.initReq();
    r.setId(opts.id);
    r.setBundle(opts.bundle);
    auto s = r.initStdio();
    s.setStdin(opts.stdin_path);
    s.setStdout(opts.stdout_path);
    s.setStderr(opts.stderr_path);
    s.setTerminal(opts.terminal);
    auto resp = req.send().wait(ws).getResp();
    if (int rc = report(resp)) return rc;
    std::cout << resp.getPid() << "\n";
    return 0;
  }
  if (v == "start") {
    auto req = task.startRequest();
    req.initReq().setExecId(opts.exec_id);
    auto resp = req.send().wait(ws).getResp();
    if (int rc = report(resp)) return rc;
    std::cout << resp.getPid() << "\n";
    return 0;
  }
  if (v == "state") {
    auto req = task.stateRequest();
    req.initReq().setExecId(opts.exec_id);
    auto resp = req.send().wait(ws).getResp();
    if (int rc = report(resp)) return rc;
    std::cout << "ID\tPID\tSTATUS\n"
              << resp.getId().cStr() << "\t" << resp.getPid() << "\t"
              << status_name(resp.getStatus()) << "\n";
    return 0;
  }
  if (v == "kill") {
    auto req = task.killRequest();
    auto r = req.initReq();
    r.setExecId(opts.exec_id);
    r.setSignal(static_cast<uint32_t>(opts.signal));
    r.setAll(opts.all);
    return report(req.send().wait(ws).getResp());
  }
  if (v == "wait") {
    auto req = task.waitRequest();
    req.initReq().setExecId(opts.exec_id);
    auto resp = req.send().wait(ws).getResp();
    if (int rc = report(resp)) return rc;
    std::cout << "exit status " << resp.getStatus().getCode() << "\n";
    return 0;
  }
  if (v == "delete") {
    auto req = task.deleteRequest();
    req.initReq().setExecId(opts.exec_id);
    auto resp = req.send().wait(ws).getResp();
    if (int rc = report(resp)) return rc;
    std::cout << "deleted, exit status " << resp.getStatus().getCode() << "\n";
    return 0;
  }
  if (v == "shutdown") {
    auto req = task.shutdownRequest();
    req.initReq().setNow(opts.now);
    return report(req.send().wait(ws).getResp());
  }
  if (v == "connect") {
    auto req = task.connectRequest();
    req.initReq();
    auto resp = req.send().wait(ws).getResp();
    std::cout << "shim pid " << resp.getShimPid() << ", task pid " << resp.getTaskPid()
              << ", version " << resp.getVersion().cStr() << "\n";
    return 0;
  }
  std::cerr << "berth: shim: unknown verb " << v << "\n";
  return 2;
}

}  // namespace

void add_shim_command(CLI::App& app) {
  auto* shim = app.add_subcommand("shim", "talk to one berth-shim directly (debugging)");
  shim->add_option("--address", opts.address, "the shim's socket (unix:PATH)")->required();
  shim->require_subcommand(1);
  auto verb = [&](const char* name, const char* help) {
    auto* sub = shim->add_subcommand(name, help);
    sub->callback([name] { opts.verb = name; });
    return sub;
  };
  auto* create = verb("create", "create the task (runc create)");
  create->add_option("--id", opts.id, "task id")->required();
  create->add_option("--bundle", opts.bundle, "OCI bundle directory")->required();
  create->add_option("--stdin", opts.stdin_path, "FIFO or file for stdin");
  create->add_option("--stdout", opts.stdout_path, "FIFO or file for stdout");
  create->add_option("--stderr", opts.stderr_path, "FIFO or file for stderr");
  create->add_flag("--tty", opts.terminal, "allocate a terminal");
  for (const char* name : {"start", "state", "wait", "delete"}) {
    verb(name, name)->add_option("--exec-id", opts.exec_id, "an exec process instead of init");
  }
  auto* kill = verb("kill", "signal the task");
  kill->add_option("--exec-id", opts.exec_id, "an exec process instead of init");
  kill->add_option("-s,--signal", opts.signal, "signal number");
  kill->add_flag("--all", opts.all, "every process of the container");
  verb("shutdown", "stop the shim once no process is alive")
      ->add_flag("--now", opts.now, "kill and delete what still runs, then stop");
  verb("connect", "print the shim's pid, the task's pid and its version");
}

int run_shim_command() {
  try {
    auto io = kj::setupAsyncIo();
    std::string path = opts.address.rfind("unix:", 0) == 0 ? opts.address : "unix:" + opts.address;
    auto addr = io.provider->getNetwork().parseAddress(path).wait(io.waitScope);
    auto stream = addr->connect().wait(io.waitScope);
    capnp::TwoPartyClient client(*stream);
    return run(client.bootstrap().castAs<ws::Task>(), io.waitScope);
  } catch (const kj::Exception& e) {
    std::cerr << "berth: shim " << opts.verb << ": cannot reach shim at " << opts.address << ": "
              << e.getDescription().cStr() << "\n";
    return 1;
  }
}

}  // namespace berth::cli
