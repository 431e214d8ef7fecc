// Fuzz target api_request: one API call's parameters as berthd receives them.
//
// Input: byte 0 picks the method (below 0x80: Berth's method byte % count;
// from 0x80: Task's), the rest is a Cap'n Proto message (standard framing,
// as the socket carries it) whose root is that method's parameter struct.
// What runs, in the server's order:
//  1. the message is read with berthd's own reader limits
//     (api_reader_options(), actors/daemon/api_connection.cpp);
//  2. api_validation::check_params, exactly as the connection's gate calls it;
//  3. for a request the gate lets through, the server's conversion to the
//     daemon's messages (api_convert, wire_convert) and the pure checks the
//     registry and the shim make before anything acts on it: identifiers,
//     image names, log limits, the OCI spec of create options
//     (generate_spec), the shim's merge of an exec process (exec_process),
//     `runc update`'s resources JSON.
// Not covered: the RPC envelope itself (Cap'n Proto's rpc.capnp Message,
// which is Cap'n Proto's code), and the checks that touch the file system as
// the client (client_paths: stdio, checkpoint and archive paths).
//
// Refusals are fine: a kj::Exception while the message is read, an error
// from check_params, an error value from a check. A crash, a sanitizer
// report, or an exception where the daemon has nobody to catch it (the
// registry's checks run inside an actor) is a finding.
#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "actors/daemon/api_connection.hpp"
#include "actors/daemon/api_convert.hpp"
#include "actors/daemon/api_validation.hpp"
#include "actors/daemon/oci_spec.hpp"
#include "actors/daemon/task_log_options.hpp"
#include "actors/errors.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/oci_manifest.hpp"
#include "actors/runtime/wire_convert.hpp"
#include "schema/api.capnp.h"
#include "schema/identifier.hpp"
#include "shim/core/exec_process.hpp"
#include "shim/runc/runc_client.hpp"

namespace {

using namespace berth;
using wire::api::Berth;
using wire::api::Task;

[[noreturn]] void finding(const std::string& what) {
  std::cerr << "fuzz_api_request: " << what << "\n";
  std::abort();
}

// A refusal must read as one: "invalid argument: <method> ...".
void expect_refusal(const caf::error& err, const std::string& method) {
  auto msg = error_message(err);
  if (msg.rfind("invalid argument: " + method, 0) != 0)
    finding("refusal of " + method + " does not name it: " + msg);
}

// The registry's checks of a namespace and an id (registry_actor.cpp's
// check_names), on a namespace that "" means "default".
void check_names(std::string ns, const std::string& id) {
  if (ns.empty()) ns = "default";
  (void)check_identifier("namespace", ns);
  (void)check_identifier("container id", id);
}

// What the registry does with an image name (it catches what this throws).
void image_name(const std::string& name) {
  try {
    (void)images::normalize_image_name(name);
  } catch (const std::exception&) {
  }
}

// The container's own process, as the shim reads it from config.json for an exec.
const nlohmann::json& container_process() {
  static const nlohmann::json process = [] {
    container_options o;
    o.args = {"sh"};
    auto spec = generate_spec("default", "fuzz", o, "rootfs");
    if (!spec) finding("the default spec is refused: " + error_message(spec.error()));
    return nlohmann::json::parse(*spec).at("process");
  }();
  return process;
}

void create_container(Berth::CreateContainerParams::Reader p) {
  auto c = api_convert::from_wire(p.getReq());
  // registry_actor.cpp's validate(), without the actor's state.
  std::string ns = c.ns.empty() ? "default" : c.ns;
  check_names(ns, c.id);
  auto limits =
      choose_log_limits(c.options.log_max_size, c.options.log_max_files, log_limits{}, ns, c.id);
  if (limits) (void)with_log_limits("", *limits);
  if (c.options.rootfs.empty()) image_name(c.image);
  // The spec is written either way: from the rootfs, or once the image has
  // given the process (prepare_from_image), over the same options.
  auto spec =
      generate_spec(ns, c.id, c.options, c.options.rootfs.empty() ? "rootfs" : c.options.rootfs);
  if (spec) {
    (void)nlohmann::json::parse(*spec);
  } else if (error_message(spec.error()).find("cannot write its OCI spec") != std::string::npos) {
    // generate_spec's safety net caught an exception: the text that reached
    // it passed validation, so nothing should throw while it is written.
    finding("generate_spec threw on a validated request: " + error_message(spec.error()));
  }
}

void exec(Task::ExecParams::Reader p) {
  auto e = api_convert::from_wire(p.getReq());
  (void)check_identifier("exec id", e.exec_id);
  // The shim's side (task_service.cpp's process_json, task.cpp's exec): the
  // client's OCI process, or one made of args, env and cwd, merged over the
  // container's own. The shim catches what this throws and answers with it.
  nlohmann::json merged;
  try {
    nlohmann::json request;
    if (!e.oci_process_json.empty()) {
      request = nlohmann::json::parse(e.oci_process_json);
    } else {
      request["args"] = e.args;
      if (!e.env.empty()) request["env"] = e.env;
      if (!e.cwd.empty()) request["cwd"] = e.cwd;
    }
    merged = shim::exec_process(container_process(), request);
  } catch (const std::exception&) {
    return;
  }
  // Outside the shim's catch, as in task.cpp: what it writes for runc.
  merged["terminal"] = e.stdio.terminal;
  (void)merged.dump();
}

void dispatch(const std::string& method, bool task, capnp::AnyPointer::Reader root) {
  if (!task) {
    if (method == "createNamespace") {
      auto r = root.getAs<Berth::CreateNamespaceParams>().getReq();
      (void)api_convert::from_wire(r.getLabels());
      (void)check_identifier("namespace", std::string(r.getName().cStr()));
    } else if (method == "deleteNamespace") {
      (void)check_identifier(
          "namespace",
          std::string(root.getAs<Berth::DeleteNamespaceParams>().getReq().getName().cStr()));
    } else if (method == "createContainer") {
      create_container(root.getAs<Berth::CreateContainerParams>());
    } else if (method == "getContainer") {
      auto r = root.getAs<Berth::GetContainerParams>().getReq();
      check_names(r.getNamespace().cStr(), r.getId().cStr());
    } else if (method == "updateContainer") {
      auto r = root.getAs<Berth::UpdateContainerParams>().getReq();
      check_names(r.getNamespace().cStr(), r.getId().cStr());
      (void)api_convert::from_wire(r.getLabels());
    } else if (method == "deleteContainer") {
      auto r = root.getAs<Berth::DeleteContainerParams>().getReq();
      check_names(r.getNamespace().cStr(), r.getId().cStr());
    } else if (method == "createTask") {
      auto r = root.getAs<Berth::CreateTaskParams>().getReq();
      check_names(r.getNamespace().cStr(), r.getId().cStr());
      (void)convert::from_wire(r.getStdio());
    } else if (method == "getTask") {
      auto r = root.getAs<Berth::GetTaskParams>().getReq();
      check_names(r.getNamespace().cStr(), r.getId().cStr());
    } else if (method == "importImage") {
      auto r = root.getAs<Berth::ImportImageParams>().getReq();
      std::string platform = r.getPlatform().size() ? r.getPlatform().cStr() : "linux/amd64";
      (void)images::platform_matches(platform, "linux/amd64");
      (void)images::platform_matches("linux/amd64", platform);
      if (r.getName().size()) image_name(r.getName().cStr());
    } else if (method == "getImage") {
      image_name(root.getAs<Berth::GetImageParams>().getReq().getName().cStr());
    } else if (method == "removeImage") {
      image_name(root.getAs<Berth::RemoveImageParams>().getReq().getName().cStr());
    } else if (method == "tagImage") {
      auto r = root.getAs<Berth::TagImageParams>().getReq();
      image_name(r.getSource().cStr());
      image_name(r.getTarget().cStr());
    } else if (method == "subscribe") {
      auto f = root.getAs<Berth::SubscribeParams>().getReq().getFilter();
      (void)std::string(f.getNamespace().cStr());
      (void)std::string(f.getTopicPrefix().cStr());
    }
    return;
  }
  if (method == "exec") {
    exec(root.getAs<Task::ExecParams>());
  } else if (method == "attach") {
    (void)convert::from_wire(root.getAs<Task::AttachParams>().getReq().getStdio());
  } else if (method == "update") {
    auto l = api_convert::from_wire(root.getAs<Task::UpdateParams>().getReq().getResources());
    (void)runc::resources_json(l.memory_limit, l.cpu_quota, l.cpu_period, l.cpu_shares,
                               l.pids_limit);
  } else if (method == "checkpoint") {
    (void)std::string(root.getAs<Task::CheckpointParams>().getReq().getPath().cStr());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  bool task = data[0] >= 0x80;
  auto iface = task ? capnp::Schema::from<Task>() : capnp::Schema::from<Berth>();
  auto methods = iface.getMethods();
  auto method = methods[(data[0] & 0x7f) % methods.size()];
  std::string name = method.getProto().getName().cStr();

  // Word-aligned, as a message arrives in the server's buffer.
  std::size_t words = (size - 1) / sizeof(capnp::word);
  auto buf = kj::heapArray<capnp::word>(words);
  if (words) std::memcpy(buf.begin(), data + 1, words * sizeof(capnp::word));

  kj::Maybe<kj::Own<capnp::FlatArrayMessageReader>> reader;
  try {
    reader = kj::heap<capnp::FlatArrayMessageReader>(buf.asPtr(), api_reader_options());
  } catch (const kj::Exception& e) {
    // The reader refused the framing: the connection is dropped.
    if (std::getenv("BERTH_FUZZ_VERBOSE"))
      std::cerr << "unreadable: " << e.getDescription().cStr() << "\n";
    return 0;
  }
  KJ_IF_MAYBE (r, reader) {
    capnp::AnyPointer::Reader root;
    try {
      root = (*r)->getRoot<capnp::AnyPointer>();
    } catch (const kj::Exception&) {
      return 0;
    }
    // The gate (gated_capability::dispatchCall) catches nothing around this.
    if (auto err = api_validation::check_params(method, root)) {
      if (std::getenv("BERTH_FUZZ_VERBOSE")) std::cerr << "refused: " << error_message(err) << "\n";
      expect_refusal(err, name);
      return 0;
    }
    // The server method: a kj::Exception thrown here becomes the call's
    // error (a traversal limit a second read of the request reaches); any
    // other exception is a finding.
    try {
      dispatch(name, task, root);
      if (std::getenv("BERTH_FUZZ_VERBOSE")) std::cerr << "accepted: " << name << "\n";
    } catch (const kj::Exception&) {
    }
  }
  return 0;
}
