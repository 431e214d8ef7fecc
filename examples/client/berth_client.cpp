// A minimal Cap'n Proto client of berthd, using nothing of berth but its
// schema (schema/api.capnp): it lists the containers of a namespace, then
// runs one container and prints its exit status. createTask and start go out
// in one round trip: start is called on the `task` capability that
// createTask's answer will hold, before that answer arrives (promise
// pipelining).
//
//   berth-client-example [--address unix:/run/berth/berth.sock] [--namespace NS]
//                        [--image NAME] [--rootfs DIR] ID [ARGS...]
//
// The container keeps stdio empty, so its output goes to the task's log
// (read it with `berth t logs ID`); the example deletes the task and the
// container before it exits.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "schema/api.capnp.h"

namespace api = berth::wire::api;

namespace {

// Every response carries `error`; unset means success.
template <typename Resp>
void check(Resp resp, const std::string& what) {
  if (resp.hasError() && resp.getError().getCode() != berth::wire::ErrorCode::OK)
    throw std::runtime_error(what + ": " + resp.getError().getMessage().cStr());
}

struct options {
  std::string address = "unix:/run/berth/berth.sock";
  std::string ns = "default";
  std::string image = "docker.io/library/busybox:latest";
  std::string rootfs;  // a prepared root filesystem instead of the image's snapshot
  std::string id;
  std::vector<std::string> args;
};

options parse(int argc, char** argv) {
  options o;
  if (const char* a = std::getenv("BERTH_ADDRESS")) o.address = a;
  int i = 1;
  auto value = [&](const char* flag) -> std::string {
    if (i + 1 >= argc) throw std::runtime_error(std::string(flag) + " needs a value");
    return argv[++i];
  };
  for (; i < argc && argv[i][0] == '-'; ++i) {
    std::string flag = argv[i];
    if (flag == "--address")
      o.address = value("--address");
    else if (flag == "--namespace")
      o.ns = value("--namespace");
    else if (flag == "--image")
      o.image = value("--image");
    else if (flag == "--rootfs")
      o.rootfs = value("--rootfs");
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  if (i >= argc) throw std::runtime_error("no container id given");
  o.id = argv[i++];
  for (; i < argc; ++i) o.args.emplace_back(argv[i]);
  return o;
}

void list_containers(api::Berth::Client& berth, const options& o, kj::WaitScope& ws) {
  auto req = berth.listContainersRequest();
  req.initReq().setNamespace(o.ns);
  auto resp = req.send().wait(ws);
  check(resp.getResp(), "list containers");
  auto containers = resp.getResp().getContainers();
  std::cout << containers.size() << " container(s) in namespace " << o.ns << "\n";
  for (auto c : containers)
    std::cout << "  " << c.getId().cStr() << "  " << c.getImage().cStr() << "\n";
}

void run_container(api::Berth::Client& berth, const options& o, kj::WaitScope& ws) {
  {
    auto req = berth.createContainerRequest();
    auto r = req.initReq();
    r.setNamespace(o.ns);
    r.setId(o.id);
    r.setImage(o.image);
    auto opts = r.initOptions();
    if (!o.rootfs.empty()) opts.setRootfs(o.rootfs);
    auto args = opts.initProcess().initArgs(static_cast<unsigned>(o.args.size()));
    for (unsigned i = 0; i < o.args.size(); ++i) args.set(i, o.args[i]);
    auto resp = req.send().wait(ws);
    check(resp.getResp(), "create container " + o.id);
  }

  // createTask, and start on its not-yet-returned task: one round trip.
  auto create = berth.createTaskRequest();
  create.initReq().setNamespace(o.ns);
  create.getReq().setId(o.id);
  auto created = create.send();
  api::Task::Client task = created.getTask();
  auto start = task.startRequest();
  start.initReq();
  auto started = start.send();

  // The pipelined call fails too when createTask failed; createTask's own
  // error says why, so it is checked first.
  auto created_resp = created.wait(ws);
  check(created_resp.getResp(), "create task " + o.id);
  auto started_resp = started.wait(ws);
  check(started_resp.getResp(), "start task " + o.id);
  std::cout << "started " << o.id << " (pid " << started_resp.getResp().getPid() << ")\n";

  auto wait = task.waitRequest();
  wait.initReq();
  auto waited = wait.send().wait(ws);
  check(waited.getResp(), "wait for task " + o.id);
  auto status = waited.getResp().getStatus();
  std::cout << o.id << " exited with status " << status.getCode() << "\n";

  auto del = task.deleteRequest();
  del.initReq();
  check(del.send().wait(ws).getResp(), "delete task " + o.id);
  auto rm = berth.deleteContainerRequest();
  rm.initReq().setNamespace(o.ns);
  rm.getReq().setId(o.id);
  check(rm.send().wait(ws).getResp(), "delete container " + o.id);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "berth-client-example: " << e.what()
              << "\nusage: berth-client-example [--address unix:PATH] [--namespace NS] "
                 "[--image NAME] [--rootfs DIR] ID [ARGS...]\n";
    return 2;
  }
  try {
    auto io = kj::setupAsyncIo();
    auto address = io.provider->getNetwork().parseAddress(o.address).wait(io.waitScope);
    auto stream = address->connect().wait(io.waitScope);
    capnp::TwoPartyClient rpc(*stream);
    auto berth = rpc.bootstrap().castAs<api::Berth>();

    list_containers(berth, o, io.waitScope);
    run_container(berth, o, io.waitScope);
    list_containers(berth, o, io.waitScope);
    return 0;
  } catch (const kj::Exception& e) {
    std::cerr << "berth-client-example: " << e.getDescription().cStr() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "berth-client-example: " << e.what() << "\n";
  }
  return 1;
}
