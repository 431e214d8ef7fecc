// Builds each kind of schema message, serializes it to bytes as the RPC
// layer would, reads it back and checks every field survived.
#include <catch2/catch.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "schema/api.capnp.h"
#include "schema/shim.capnp.h"
#include "schema/types.capnp.h"

namespace wire = berth::wire;

template <typename S, typename Build, typename Check>
void round_trip(Build build, Check check) {
  capnp::MallocMessageBuilder out;
  build(out.initRoot<S>());
  kj::Array<capnp::word> bytes = capnp::messageToFlatArray(out);
  capnp::FlatArrayMessageReader in(bytes);
  check(in.getRoot<S>());
}

TEST_CASE("error round-trips with its stable code", "[schema]") {
  round_trip<wire::Error>(
      [](wire::Error::Builder e) {
        e.setCode(wire::ErrorCode::FAILED_PRECONDITION);
        e.setMessage("cannot pause task web: it is stopped");
      },
      [](wire::Error::Reader e) {
        CHECK(e.getCode() == wire::ErrorCode::FAILED_PRECONDITION);
        CHECK(e.getMessage() == "cannot pause task web: it is stopped");
      });
  // Every code the contract promises exists, with a stable ordinal.
  CHECK(static_cast<int>(wire::ErrorCode::NOT_FOUND) == 1);
  CHECK(static_cast<int>(wire::ErrorCode::ALREADY_EXISTS) == 2);
  CHECK(static_cast<int>(wire::ErrorCode::INVALID_ARGUMENT) == 4);
  CHECK(static_cast<int>(wire::ErrorCode::UNAVAILABLE) == 5);
  CHECK(static_cast<int>(wire::ErrorCode::NOT_IMPLEMENTED) == 6);
  CHECK(static_cast<int>(wire::ErrorCode::INTERNAL) == 7);
  CHECK(static_cast<int>(wire::ErrorCode::DEADLINE_EXCEEDED) == 8);
}

TEST_CASE("process spec and mounts round-trip", "[schema]") {
  round_trip<wire::ProcessSpec>(
      [](wire::ProcessSpec::Builder p) {
        auto args = p.initArgs(3);
        args.set(0, "sh");
        args.set(1, "-c");
        args.set(2, "exit 3");
        p.initEnv(1).set(0, "PATH=/bin");
        p.setCwd("/tmp");
        p.getUser().setUid(1000);
        p.getUser().setGid(100);
        p.setTerminal(true);
      },
      [](wire::ProcessSpec::Reader p) {
        REQUIRE(p.getArgs().size() == 3);
        CHECK(p.getArgs()[2] == "exit 3");
        CHECK(p.getEnv()[0] == "PATH=/bin");
        CHECK(p.getCwd() == "/tmp");
        CHECK(p.getUser().getUid() == 1000);
        CHECK(p.getUser().getGid() == 100);
        CHECK(p.getTerminal());
      });
  round_trip<wire::Mount>(
      [](wire::Mount::Builder m) {
        m.setType("bind");
        m.setSource("/data");
        m.setDestination("/mnt");
        m.initOptions(2).set(0, "rbind");
      },
      [](wire::Mount::Reader m) {
        CHECK(m.getType() == "bind");
        CHECK(m.getSource() == "/data");
        CHECK(m.getDestination() == "/mnt");
        CHECK(m.getOptions()[0] == "rbind");
      });
}

TEST_CASE("events round-trip each union arm with their sequence", "[schema]") {
  round_trip<wire::Event>(
      [](wire::Event::Builder e) {
        e.setSequence(42);
        e.setNamespace("default");
        e.setId("web");
        e.setTopic("/tasks/exit");
        auto x = e.initTaskExit();
        x.setPid(1234);
        x.getStatus().setCode(137);
        x.getStatus().setSignal(9);
        x.getStatus().setExitedAt(1700000000000000000);
      },
      [](wire::Event::Reader e) {
        CHECK(e.getSequence() == 42);
        CHECK(e.getNamespace() == "default");
        REQUIRE(e.isTaskExit());
        CHECK(e.getTaskExit().getPid() == 1234);
        CHECK(e.getTaskExit().getStatus().getCode() == 137);
        CHECK(e.getTaskExit().getStatus().getSignal() == 9);
        CHECK(e.getTopic() == "/tasks/exit");
      });
  round_trip<wire::Event>([](wire::Event::Builder e) { e.initTaskExecStarted().setPid(7); },
                          [](wire::Event::Reader e) {
                            REQUIRE(e.isTaskExecStarted());
                            CHECK(e.getTaskExecStarted().getPid() == 7);
                          });
  round_trip<wire::Event>([](wire::Event::Builder e) { e.setTaskPaused(); },
                          [](wire::Event::Reader e) { CHECK(e.isTaskPaused()); });
}

TEST_CASE("shim requests and responses round-trip", "[schema]") {
  using namespace wire::shim;
  round_trip<CreateRequest>(
      [](CreateRequest::Builder r) {
        r.setId("web");
        r.setBundle("/run/berth/default/web");
        r.getStdio().setStdout("/tmp/out");
        r.getStdio().setTerminal(false);
      },
      [](CreateRequest::Reader r) {
        CHECK(r.getId() == "web");
        CHECK(r.getBundle() == "/run/berth/default/web");
        CHECK(r.getStdio().getStdout() == "/tmp/out");
      });
  round_trip<StateResponse>(
      [](StateResponse::Builder r) {
        r.setPid(99);
        r.setStatus(wire::TaskStatus::PAUSED);
      },
      [](StateResponse::Reader r) {
        CHECK_FALSE(r.hasError());  // success is an absent error
        CHECK(r.getPid() == 99);
        CHECK(r.getStatus() == wire::TaskStatus::PAUSED);
      });
  round_trip<KillRequest>(
      [](KillRequest::Builder r) {
        r.setExecId("e1");
        r.setSignal(15);
        r.setAll(true);
      },
      [](KillRequest::Reader r) {
        CHECK(r.getExecId() == "e1");
        CHECK(r.getSignal() == 15);
        CHECK(r.getAll());
      });
}

TEST_CASE("api requests and responses round-trip", "[schema]") {
  using namespace wire::api;
  round_trip<CreateContainerRequest>(
      [](CreateContainerRequest::Builder r) {
        r.setNamespace("default");
        r.setId("web");
        r.setImage("docker.io/library/busybox:latest");
        r.setRuntime("io.berth.runc.v1");
        auto l = r.initLabels(1)[0];
        l.setKey("tier");
        l.setValue("front");
        r.getOptions().setMemoryLimit(1 << 20);
        r.getOptions().setCpus(1.5);
      },
      [](CreateContainerRequest::Reader r) {
        CHECK(r.getImage() == "docker.io/library/busybox:latest");
        CHECK(r.getRuntime() == "io.berth.runc.v1");
        CHECK(r.getLabels()[0].getKey() == "tier");
        CHECK(r.getOptions().getMemoryLimit() == 1 << 20);
        CHECK(r.getOptions().getCpus() == 1.5);
      });
  round_trip<ListTasksResponse>(
      [](ListTasksResponse::Builder r) {
        auto t = r.initTasks(1)[0];
        t.setId("web");
        t.setPid(5);
        t.setStatus(wire::TaskStatus::RUNNING);
      },
      [](ListTasksResponse::Reader r) {
        REQUIRE(r.getTasks().size() == 1);
        CHECK(r.getTasks()[0].getStatus() == wire::TaskStatus::RUNNING);
      });
  round_trip<ImportImageResponse>(
      [](ImportImageResponse::Builder r) {
        auto e = r.initError();
        e.setCode(wire::ErrorCode::INVALID_ARGUMENT);
        e.setMessage("layer sha256:ab: digest mismatch");
      },
      [](ImportImageResponse::Reader r) {
        REQUIRE(r.hasError());
        CHECK(r.getError().getCode() == wire::ErrorCode::INVALID_ARGUMENT);
      });
}
