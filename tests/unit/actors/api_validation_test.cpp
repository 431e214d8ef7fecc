// The API boundary's request validation (actors/daemon/api_validation.*) and
// the UTF-8 rules under it (actors/runtime/wire_text.*), as tables: each row
// is one request and the refusal a client would read, or "" for accepted.
#include <catch2/catch.hpp>

#include <capnp/dynamic.h>
#include <capnp/message.h>

#include <functional>
#include <string>

#include "actors/daemon/api_validation.hpp"
#include "actors/errors.hpp"
#include "actors/runtime/wire_convert.hpp"
#include "actors/runtime/wire_text.hpp"
#include "schema/api.capnp.h"

using namespace berth;
namespace av = berth::api_validation;
using Berth = wire::api::Berth;
using Task = wire::api::Task;

namespace {

// The message of the refusal, "" when the request passes.
template <class Params>
std::string check(const char* method, const std::function<void(typename Params::Builder)>& fill) {
  capnp::MallocMessageBuilder msg;
  auto p = msg.initRoot<Params>();
  fill(p);
  auto err = av::check_params(method, capnp::toDynamic(p.asReader()));
  if (!err) return "";
  CHECK(error_code(err) == errc::invalid_argument);
  return error_message(err);
}

std::string repeat(std::size_t n, char c = 'a') {
  return std::string(n, c);
}

void texts(capnp::List<capnp::Text>::Builder list, const std::string& s) {
  for (unsigned i = 0; i < list.size(); ++i) list.set(i, s);
}

}  // namespace

TEST_CASE("wire text: UTF-8, NUL and length rules", "[unit][api-validation]") {
  struct row {
    std::string text;
    std::size_t limit;
    std::string problem;
  };
  const row rows[] = {
      {"", 10, ""},
      {"plain ascii", 100, ""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 100, ""},  // é € 🐳
      {"X=\xff", 100, "not valid UTF-8 (byte 0xff at offset 2)"},
      {"\x80", 100, "not valid UTF-8 (byte 0x80 at offset 0)"},              // lone continuation
      {"ab\xc3", 100, "not valid UTF-8 (byte 0xc3 at offset 2)"},            // cut short
      {"\xc0\xaf", 100, "not valid UTF-8 (byte 0xc0 at offset 0)"},          // overlong '/'
      {"\xe0\x80\xaf", 100, "not valid UTF-8 (byte 0xe0 at offset 0)"},      // overlong, 3 bytes
      {"\xed\xa0\x80", 100, "not valid UTF-8 (byte 0xed at offset 0)"},      // a surrogate
      {"\xf4\x90\x80\x80", 100, "not valid UTF-8 (byte 0xf4 at offset 0)"},  // past U+10FFFF
      {"\xe2\x82", 100, "not valid UTF-8 (byte 0xe2 at offset 0)"},
      {std::string("a\0b", 3), 100, "contains a NUL byte at offset 1"},
      {repeat(11), 10, "is 11 bytes long (limit 10)"},
      {repeat(10), 10, ""},
  };
  for (const auto& r : rows) {
    INFO("text of " << r.text.size() << " bytes, limit " << r.limit);
    CHECK(wire_text::problem(r.text, r.limit) == r.problem);
  }
}

TEST_CASE("createContainer: every string and list is checked, by name", "[unit][api-validation]") {
  using P = Berth::CreateContainerParams;
  struct row {
    const char* what;
    std::function<void(P::Builder)> fill;
    std::string refusal;  // "" for accepted
  };
  const row rows[] = {
      {"a good request",
       [](P::Builder p) {
         auto r = p.initReq();
         r.setId("web");
         r.setImage("docker.io/library/busybox:latest");
         auto proc = r.initOptions().initProcess();
         texts(proc.initArgs(2), "sh");
         proc.initEnv(1).set(0, "LANG=caf\xc3\xa9");
         auto l = r.initLabels(1);
         l[0].setKey("k");
         l[0].setValue("v");
       },
       ""},
      {"an empty request", [](P::Builder p) { p.initReq(); }, ""},
      {"invalid UTF-8 in the id",
       [](P::Builder p) {
         p.initReq().setId(
             "we\xff"
             "b");
       },
       "invalid argument: createContainer id: not valid UTF-8 (byte 0xff at offset 2)"},
      {"invalid UTF-8 in the namespace", [](P::Builder p) { p.initReq().setNamespace("\xfe"); },
       "invalid argument: createContainer namespace: not valid UTF-8 (byte 0xfe at offset 0)"},
      {"invalid UTF-8 in the image", [](P::Builder p) { p.initReq().setImage("busybox\xc3"); },
       "invalid argument: createContainer image: not valid UTF-8 (byte 0xc3 at offset 7)"},
      {"invalid UTF-8 in the runtime", [](P::Builder p) { p.initReq().setRuntime("\x80"); },
       "invalid argument: createContainer runtime: not valid UTF-8"},
      {"invalid UTF-8 in an env entry",
       [](P::Builder p) { p.initReq().initOptions().initProcess().initEnv(1).set(0, "X=\xff"); },
       "invalid argument: createContainer options.process.env[0]: not valid UTF-8 (byte 0xff at "
       "offset 2)"},
      {"invalid UTF-8 in the second arg",
       [](P::Builder p) {
         auto a = p.initReq().initOptions().initProcess().initArgs(2);
         a.set(0, "sh");
         a.set(1, "\xff");
       },
       "invalid argument: createContainer options.process.args[1]: not valid UTF-8"},
      {"a NUL in the cwd",
       [](P::Builder p) {
         p.initReq().initOptions().initProcess().setCwd(capnp::Text::Reader("/a\0b", 4));
       },
       "invalid argument: createContainer options.process.cwd: contains a NUL byte at offset 2"},
      {"invalid UTF-8 in the user name",
       [](P::Builder p) { p.initReq().initOptions().initProcess().initUser().setName("\xff"); },
       "invalid argument: createContainer options.process.user.name: not valid UTF-8"},
      {"invalid UTF-8 in ociJson",
       [](P::Builder p) { p.initReq().initOptions().initProcess().setOciJson("{\"\xff\"}"); },
       "invalid argument: createContainer options.process.ociJson: not valid UTF-8"},
      {"invalid UTF-8 in a mount source",
       [](P::Builder p) { p.initReq().initOptions().initMounts(1)[0].setSource("/\xff"); },
       "invalid argument: createContainer options.mounts[0].source: not valid UTF-8"},
      {"invalid UTF-8 in a mount option",
       [](P::Builder p) {
         p.initReq().initOptions().initMounts(1)[0].initOptions(2).set(1, "\xff");
       },
       "invalid argument: createContainer options.mounts[0].options[1]: not valid UTF-8"},
      {"invalid UTF-8 in rootfs",
       [](P::Builder p) { p.initReq().initOptions().setRootfs("/r\xff"); },
       "invalid argument: createContainer options.rootfs: not valid UTF-8"},
      {"invalid UTF-8 in the hostname",
       [](P::Builder p) { p.initReq().initOptions().setHostname("h\xff"); },
       "invalid argument: createContainer options.hostname: not valid UTF-8"},
      {"invalid UTF-8 in a label key",
       [](P::Builder p) { p.initReq().initLabels(2)[1].setKey("\xff"); },
       "invalid argument: createContainer labels[1].key: not valid UTF-8"},
      {"invalid UTF-8 in a label value",
       [](P::Builder p) { p.initReq().initLabels(1)[0].setValue("\xff"); },
       "invalid argument: createContainer labels[0].value: not valid UTF-8"},
      {"an id longer than any path",
       [](P::Builder p) { p.initReq().setId(repeat(av::kMaxText + 1)); },
       "invalid argument: createContainer id: is 4097 bytes long (limit 4096)"},
      {"too many env entries",
       [](P::Builder p) { p.initReq().initOptions().initProcess().initEnv(av::kMaxArgs + 1); },
       "invalid argument: createContainer options.process.env: has 4097 entries (limit 4096)"},
      {"env entries that are too large together",
       [](P::Builder p) {
         texts(p.initReq().initOptions().initProcess().initEnv(16), "X=" + repeat(100 * 1024));
       },
       "invalid argument: createContainer options.process.env: totals 1638432 bytes (limit "
       "1048576)"},
      {"one env entry past MAX_ARG_STRLEN",
       [](P::Builder p) {
         p.initReq().initOptions().initProcess().initEnv(1).set(0, repeat(av::kMaxArgText + 1));
       },
       "invalid argument: createContainer options.process.env[0]: is 131073 bytes long"},
      {"too many labels", [](P::Builder p) { p.initReq().initLabels(av::kMaxLabels + 1); },
       "invalid argument: createContainer labels: has 257 entries (limit 256)"},
      {"a label value past its limit",
       [](P::Builder p) { p.initReq().initLabels(1)[0].setValue(repeat(av::kMaxLabelValue + 1)); },
       "invalid argument: createContainer labels[0].value: is 4097 bytes long (limit 4096)"},
      {"too many mounts",
       [](P::Builder p) { p.initReq().initOptions().initMounts(av::kMaxMounts + 1); },
       "invalid argument: createContainer options.mounts: has 257 entries (limit 256)"},
      {"too many options of one mount",
       [](P::Builder p) {
         p.initReq().initOptions().initMounts(1)[0].initOptions(av::kMaxMountOptions + 1);
       },
       "invalid argument: createContainer options.mounts[0].options: has 65 entries (limit 64)"},
      {"too many additional gids",
       [](P::Builder p) {
         p.initReq().initOptions().initProcess().initUser().initAdditionalGids(av::kMaxGids + 1);
       },
       "invalid argument: createContainer options.process.user.additionalGids: has 257 entries"},
      {"too many capabilities to add",
       [](P::Builder p) { p.initReq().initOptions().initCapAdd(av::kMaxCapabilities + 1); },
       "invalid argument: createContainer options.capAdd: has 65 entries (limit 64)"},
      {"a capability name past its limit",
       [](P::Builder p) {
         p.initReq().initOptions().initCapDrop(1).set(0, repeat(av::kMaxCapabilityName + 1));
       },
       "invalid argument: createContainer options.capDrop[0]: is 65 bytes long (limit 64)"},
      {"a capability name that is not UTF-8",
       [](P::Builder p) { p.initReq().initOptions().initCapAdd(1).set(0, "NET_\xff"); },
       "invalid argument: createContainer options.capAdd[0]: not valid UTF-8"},
      {"too many devices",
       [](P::Builder p) { p.initReq().initOptions().initDevices(av::kMaxDevices + 1); },
       "invalid argument: createContainer options.devices: has 129 entries (limit 128)"},
      {"a device path with a NUL byte",
       [](P::Builder p) {
         p.initReq().initOptions().initDevices(1)[0].setHostPath(
             capnp::Text::Reader("/dev/null\0x", 11));
       },
       "invalid argument: createContainer options.devices[0].hostPath: contains a NUL byte at "
       "offset 9"},
      {"a request larger than the whole-request limit",
       [](P::Builder p) {
         auto proc = p.initReq().initOptions().initProcess();
         texts(proc.initArgs(8), repeat(120 * 1024));
         texts(proc.initEnv(8), repeat(120 * 1024));
         proc.setOciJson(repeat(1000 * 1024));
         auto l = p.getReq().initLabels(256);
         for (unsigned i = 0; i < l.size(); ++i) l[i].setValue(repeat(4000));
         auto m = p.getReq().getOptions().initMounts(256);
         for (unsigned i = 0; i < m.size(); ++i) {
           m[i].setSource(repeat(4000));
           m[i].setDestination(repeat(4000));
         }
       },
       "makes the request larger than 4194304 bytes of text"},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto got = check<P>("createContainer", r.fill);
    if (r.refusal.empty())
      CHECK(got == "");
    else
      CHECK_THAT(got,
                 Catch::Matchers::StartsWith(r.refusal) || Catch::Matchers::Contains(r.refusal));
  }
}

TEST_CASE("other requests: tasks, exec, kill, images, namespaces, events",
          "[unit][api-validation]") {
  CHECK_THAT(check<Berth::CreateTaskParams>(
                 "createTask", [](auto p) { p.initReq().initStdio().setStdout("/tmp/\xff"); }),
             Catch::Matchers::Equals("invalid argument: createTask stdio.stdout: not valid UTF-8 "
                                     "(byte 0xff at offset 5)"));
  CHECK_THAT(check<Berth::CreateTaskParams>(
                 "createTask", [](auto p) { p.initReq().setCheckpoint(repeat(5000)); }),
             Catch::Matchers::Equals(
                 "invalid argument: createTask checkpoint: is 5000 bytes long (limit 4096)"));
  CHECK_THAT(check<Task::ExecParams>(
                 "exec", [](auto p) { p.initReq().initSpec().initEnv(2).set(1, "A=\xe2\x82"); }),
             Catch::Matchers::Equals(
                 "invalid argument: exec spec.env[1]: not valid UTF-8 (byte 0xe2 at offset 2)"));
  CHECK_THAT(check<Task::ExecParams>("exec", [](auto p) { p.initReq().setExecId("\xff"); }),
             Catch::Matchers::StartsWith("invalid argument: exec execId: not valid UTF-8"));
  CHECK_THAT(
      check<Task::ExecParams>("exec", [](auto p) { p.initReq().initStdio().setStdin("\xff"); }),
      Catch::Matchers::StartsWith("invalid argument: exec stdio.stdin: not valid UTF-8"));
  CHECK_THAT(check<Task::ExecParams>(
                 "exec", [](auto p) { p.initReq().initSpec().initArgs(av::kMaxArgs + 1); }),
             Catch::Matchers::StartsWith("invalid argument: exec spec.args: has 4097 entries"));
  CHECK_THAT(check<Task::KillParams>("kill", [](auto p) { p.initReq().setExecId("\xff"); }),
             Catch::Matchers::StartsWith("invalid argument: kill execId: not valid UTF-8"));
  CHECK_THAT(check<Task::AttachParams>("attach",
                                       [](auto p) { p.initReq().initStdio().setStderr("\xff"); }),
             Catch::Matchers::StartsWith("invalid argument: attach stdio.stderr: not valid UTF-8"));
  CHECK_THAT(
      check<Berth::ImportImageParams>("importImage",
                                      [](auto p) { p.initReq().setArchivePath("/tmp/\xff.tar"); }),
      Catch::Matchers::StartsWith("invalid argument: importImage archivePath: not valid UTF-8"));
  CHECK_THAT(check<Berth::ImportImageParams>("importImage",
                                             [](auto p) { p.initReq().setName("img\xff"); }),
             Catch::Matchers::StartsWith("invalid argument: importImage name: not valid UTF-8"));
  CHECK_THAT(check<Berth::ImportImageParams>("importImage",
                                             [](auto p) { p.initReq().setPlatform("\xff"); }),
             Catch::Matchers::StartsWith("invalid argument: importImage platform: not valid"));
  CHECK_THAT(
      check<Berth::TagImageParams>("tagImage", [](auto p) { p.initReq().setTarget("b\xff"); }),
      Catch::Matchers::StartsWith("invalid argument: tagImage target: not valid UTF-8"));
  CHECK_THAT(check<Berth::CreateNamespaceParams>(
                 "createNamespace", [](auto p) { p.initReq().initLabels(1)[0].setKey("\xff"); }),
             Catch::Matchers::StartsWith(
                 "invalid argument: createNamespace labels[0].key: not valid UTF-8"));
  CHECK_THAT(check<Berth::UpdateContainerParams>("updateContainer",
                                                 [](auto p) { p.initReq().initLabels(300); }),
             Catch::Matchers::StartsWith(
                 "invalid argument: updateContainer labels: has 300 entries (limit 256)"));
  CHECK_THAT(check<Berth::SubscribeParams>(
                 "subscribe", [](auto p) { p.initReq().initFilter().setTopicPrefix("/t\xff"); }),
             Catch::Matchers::StartsWith(
                 "invalid argument: subscribe filter.topicPrefix: not valid UTF-8"));
  CHECK_THAT(check<Berth::GetContainerParams>("getContainer",
                                              [](auto p) { p.initReq().setId(repeat(10000)); }),
             Catch::Matchers::StartsWith("invalid argument: getContainer id: is 10000 bytes long"));
  // Good ones pass.
  CHECK(check<Task::ExecParams>("exec", [](auto p) {
          auto r = p.initReq();
          r.setExecId("probe");
          texts(r.initSpec().initArgs(3), "ls");
        }) == "");
  CHECK(check<Berth::VersionParams>("version", [](auto p) { p.initReq(); }) == "");
}

// What a shim answers goes through the same rules (actors/runtime/wire_convert.cpp):
// a bad string is a kj::Exception that shim_link turns into an error for that
// one call, never a value an actor would keep.
TEST_CASE("a shim's answers with bad strings are refused as a broken shim",
          "[unit][api-validation][shim]") {
  auto refusal = [](const std::function<void()>& convert_it) -> std::string {
    try {
      convert_it();
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
    return "";
  };
  capnp::MallocMessageBuilder msg;
  auto state = msg.initRoot<wire::shim::StateResponse>();
  state.setId("web");
  state.setBundle("/run/berth/default/web");
  CHECK(refusal([&] { convert::from_wire(state.asReader()); }) == "");
  state.setBundle("/run/\xff");
  CHECK(refusal([&] { convert::from_wire(state.asReader()); }) ==
        "broken shim: state bundle: not valid UTF-8 (byte 0xff at offset 5)");
  state.setBundle("/run");
  state.initStdio().setStdout(std::string(70000, 'a'));
  CHECK(refusal([&] { convert::from_wire(state.asReader()); }) ==
        "broken shim: stdio.stdout: is 70000 bytes long (limit 65536)");

  capnp::MallocMessageBuilder msg2;
  auto pids = msg2.initRoot<wire::shim::PidsResponse>();
  pids.initProcesses(2)[1].setCommand("sh\xc3");
  CHECK(refusal([&] { convert::from_wire(pids.asReader()); }) ==
        "broken shim: process command: not valid UTF-8 (byte 0xc3 at offset 2)");

  capnp::MallocMessageBuilder msg3;
  auto ev = msg3.initRoot<wire::Event>();
  ev.setTopic("/tasks/exit");
  ev.initTaskExit().initStatus().setReason("died\xff");
  CHECK(refusal([&] { convert::from_wire(ev.asReader()); }) ==
        "broken shim: exit status reason: not valid UTF-8 (byte 0xff at offset 4)");

  capnp::MallocMessageBuilder msg4;
  auto err = msg4.initRoot<wire::Error>();
  err.setCode(wire::ErrorCode::INTERNAL);
  err.setMessage("runc said \xff");
  CHECK(refusal([&] { convert::error_of(err.asReader()); }) ==
        "broken shim: error message: not valid UTF-8 (byte 0xff at offset 10)");
}
