// The fixture of the task actor tests: a deterministic system, the fakes
// (task_fakes.hpp), a bundle directory, and the steps most cases begin with
// (create, start, recover from a record).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "actors/daemon/task_actor.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/unit/actors/deterministic_system.hpp"
#include "tests/unit/actors/task_fakes.hpp"

namespace berth::test {

// A shim that is alive but stopped (SIGSTOP): its pid file names a live
// process (this test) and its socket accepts into the backlog, nobody
// answering — what shim_presence sees of a slow shim.
class stopped_shim_files {
 public:
  explicit stopped_shim_files(const std::string& bundle) {
    std::ofstream{bundle + "/shim.pid"} << ::getpid();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::string path = bundle + "/shim.sock";
    REQUIRE(path.size() < sizeof sa.sun_path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
  }
  ~stopped_shim_files() { ::close(fd_); }
  stopped_shim_files(const stopped_shim_files&) = delete;
  stopped_shim_files& operator=(const stopped_shim_files&) = delete;

 private:
  int fd_ = -1;
};

struct task_fixture : deterministic_system {
  temp_dir tmp;
  task_fakes fakes{*this};
  task_params params;
  task_actor task;

  task_fixture() {
    params.ns = "default";
    params.id = "web";
    params.bundle = tmp / "web";
    std::filesystem::create_directories(params.bundle);
  }
  ~task_fixture() { stop(task, fakes.store, fakes.events, fakes.runtime); }

  std::string address() const { return "unix:" + params.bundle + "/shim.sock"; }

  task_info info() {
    auto i = ask<task_info>(task, task_info_atom::value);
    run();
    REQUIRE(i->value);
    return *i->value;
  }

  // A fresh task through create (and start): the shim is asked for both.
  void create() {
    task = spawn_task(sys, fakes.context(), params);
    auto pid = ask<std::uint32_t>(task, create_atom::value);
    run();
    INFO(log.dump());
    REQUIRE(pid->value == 4242u);
  }
  void create_and_start() {
    create();
    auto pid = ask<std::uint32_t>(task, task_start{});
    run();
    REQUIRE(pid->value == 4242u);
  }

  // A task berthd found in the store at a restart, last seen running.
  void recover() {
    task_record r;
    r.ns = params.ns;
    r.id = params.id;
    r.shim_address = address();
    r.pid = 4242;
    r.status = task_status::running;
    fakes.store_data->tasks["default/web"] = r;
    task = spawn_recovered_task(sys, fakes.context(), params, r);
  }
};

inline shim_event init_exit(std::uint64_t sequence, std::int32_t code, std::int32_t signal = 0) {
  shim_event ev;
  ev.sequence = sequence;
  ev.topic = "/tasks/exit";
  ev.kind = shim_event_kind::task_exit;
  ev.pid = 4242;
  ev.status.code = code;
  ev.status.signal = signal;
  return ev;
}

}  // namespace berth::test
