// When the shim itself goes wrong: `kill -9` of a shim, then `berth-shim
// delete` cleaning up after it; starting a shim twice; a state dir so long
// its socket path does not fit a unix socket address.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

std::string socket_path(const test_shim& s) {
  return s.address.substr(std::string("unix:").size());
}

bool runc_lists(const std::string& id) {
  auto r = run_command({"runc", "list", "-q"});
  return ("\n" + r.out).find("\n" + id + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("berth-shim delete cleans up after a shim killed with SIGKILL", "[shim][runc][faults]") {
  test_shim s("dead-shim", {.args = {"sleep", "30"}});
  int init = 0;
  {
    shim_client c(s.address);
    auto created = rpc::create(c, s.args.id, s.args.bundle);
    REQUIRE_OK(created.getResp());
    init = static_cast<int>(created.getResp().getPid());
    REQUIRE_OK(rpc::start(c).getResp());
  }
  int pid = shim_pid(s.args.bundle);
  REQUIRE(process_alive(pid));
  REQUIRE(kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] { return !process_alive(pid); }));
  // The container outlives its shim...
  CHECK(process_alive(init));
  CHECK(runc_knows(s.args.id));
  CHECK(file_exists(socket_path(s)));

  // ...until delete, which reports that no status was recorded.
  auto r = delete_shim(s.args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"exit_status\":255") != std::string::npos);
  CHECK(r.out.find("\"reason\":\"the shim died before it recorded an exit status\"") !=
        std::string::npos);
  CHECK_FALSE(runc_knows(s.args.id));
  CHECK_FALSE(runc_lists(s.args.id));
  CHECK(eventually([&] { return !process_alive(init); }));
  CHECK_FALSE(file_exists(socket_path(s)));
  CHECK_FALSE(file_exists(s.args.bundle + "/shim.pid"));
  CHECK_FALSE(file_exists(s.args.bundle + "/init.pid"));

  // Running it again is harmless.
  auto again = delete_shim(s.args);
  CHECK(again.exit_code == 0);
  CHECK(again.err.empty());
}

TEST_CASE("berth-shim delete reports the exit the dead shim had recorded", "[shim][runc][faults]") {
  test_shim s("dead-after-exit", {.args = {"sh", "-c", "exit 7"}});
  {
    shim_client c(s.address);
    REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
    REQUIRE_OK(rpc::start(c).getResp());
    auto waited = rpc::wait(c);
    REQUIRE_OK(waited.getResp());
    CHECK(waited.getResp().getStatus().getCode() == 7);
  }
  int pid = shim_pid(s.args.bundle);
  REQUIRE(kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] { return !process_alive(pid); }));
  CHECK(runc_knows(s.args.id));  // stopped, not deleted

  auto r = delete_shim(s.args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"exit_status\":7,\"signal\":0") != std::string::npos);
  CHECK(r.out.find("\"reason\":\"\"") != std::string::npos);
  CHECK_FALSE(runc_knows(s.args.id));
  CHECK_FALSE(file_exists(socket_path(s)));
}

TEST_CASE("berth-shim delete stops a shim that still runs, and its container",
          "[shim][runc][faults]") {
  test_shim s("hung-shim", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  auto created = rpc::create(c, s.args.id, s.args.bundle);
  REQUIRE_OK(created.getResp());
  int init = static_cast<int>(created.getResp().getPid());
  REQUIRE_OK(rpc::start(c).getResp());
  int pid = shim_pid(s.args.bundle);
  auto r = delete_shim(s.args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"exit_status\":255") != std::string::npos);
  CHECK(eventually([&] { return !process_alive(pid); }));
  CHECK(eventually([&] { return !process_alive(init); }));
  CHECK_FALSE(runc_knows(s.args.id));
  CHECK_FALSE(file_exists(socket_path(s)));
}

TEST_CASE("berth-shim delete leaves alone a stranger whose pid is in a stale shim.pid",
          "[shim][faults]") {
  temp_dir dir("berth-shim-test");
  pid_t stranger = fork();
  REQUIRE(stranger >= 0);
  if (stranger == 0) {
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  REQUIRE(eventually([&] {
    return read_text("/proc/" + std::to_string(stranger) + "/cmdline").rfind("sleep", 0) == 0;
  }));
  std::ofstream(dir / "shim.pid") << stranger << "\n";
  shim_args a;
  a.id = "stale-pid";
  a.bundle = dir.path();
  auto r = delete_shim(a);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(process_alive(stranger));
  CHECK_FALSE(file_exists(dir / "shim.pid"));
  kill(stranger, SIGKILL);
  waitpid(stranger, nullptr, 0);
}

TEST_CASE("berth-shim delete of a task that never existed answers 255", "[shim][faults]") {
  temp_dir dir("berth-shim-test");
  shim_args a;
  a.id = "never-existed";
  a.bundle = dir.path();
  auto r = delete_shim(a);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"exit_status\":255") != std::string::npos);
  CHECK(r.err.empty());  // "does not exist" is what delete wants, not an error
}

TEST_CASE("a second berth-shim start for the same task answers the same address",
          "[shim][runc][faults]") {
  test_shim s("twice", {.args = {"sleep", "30"}});
  int pid = shim_pid(s.args.bundle);
  auto again = start_shim(s.args);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out == s.address);
  CHECK(shim_pid(s.args.bundle) == pid);  // no second shim
  CHECK(process_alive(pid));

  // The first shim still serves, and the probe did not disturb it.
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK(start_shim(s.args).out == s.address);
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
  REQUIRE_OK(rpc::shutdown(c).getResp());
  REQUIRE(eventually([&] { return !process_alive(pid); }));

  // Once it is gone, start makes a new shim at the same address.
  auto fresh = start_shim(s.args);
  INFO(fresh.err);
  CHECK(fresh.exit_code == 0);
  CHECK(fresh.out == s.address);
  CHECK(shim_pid(s.args.bundle) != pid);
}

TEST_CASE("a stale socket of a dead shim does not stop a new start", "[shim][runc][faults]") {
  test_shim s("stale", {.args = {"true"}});
  int pid = shim_pid(s.args.bundle);
  REQUIRE(kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] { return !process_alive(pid); }));
  REQUIRE(file_exists(socket_path(s)));  // left behind: nobody answers on it
  auto r = start_shim(s.args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == s.address);
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a state dir too long for a unix socket gets a hashed socket path",
          "[shim][runc][faults]") {
  const std::string long_name = "state-" + std::string(120, 'd');
  test_shim s("long-path", {.args = {"sh", "-c", "echo fine; exit 3"}}, "runc", long_name);
  REQUIRE(s.args.state_dir.size() + std::string("/shim.sock").size() > 107);
  const std::string sock = socket_path(s);
  INFO(s.address);
  CHECK(sock.rfind("/run/berth-shim/", 0) == 0);
  CHECK(sock.size() <= 107);
  CHECK(file_exists(sock));
  CHECK(shim_pid(s.args.state_dir) > 0);  // shim.pid stays in the state dir

  // It is stable: a second start finds the same shim.
  auto again = start_shim(s.args);
  CHECK(again.exit_code == 0);
  CHECK(again.out == s.address);

  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 3);
  CHECK(read_text(s.dir / "out.txt") == "fine\n");
  REQUIRE_OK(rpc::remove(c).getResp());
  int pid = shim_pid(s.args.state_dir);
  REQUIRE_OK(rpc::shutdown(c).getResp());
  CHECK(eventually([&] { return !process_alive(pid); }));
  CHECK(eventually([&] { return !file_exists(sock); }));
}

TEST_CASE("a terminal task works with a hashed socket path", "[shim][runc][faults]") {
  const std::string long_name = "state-" + std::string(120, 't');
  test_shim s("long-tty", {.args = {"sh", "-c", "echo hi"}, .terminal = true}, "runc", long_name);
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = s.dir / "out.txt", .terminal = true})
                 .getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  CHECK(read_text(s.dir / "out.txt").find("hi") != std::string::npos);
  REQUIRE_OK(rpc::remove(c).getResp());
}
