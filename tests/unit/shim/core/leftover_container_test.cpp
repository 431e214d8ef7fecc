// What `berth-shim delete` finds of a container the runtime never recorded:
// the cgroup a bundle names, and runtime processes still working on it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "shim/core/leftover_container.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth::shim;

namespace {

struct temp_bundle {
  berth::test::temp_dir tmp{"berth-leftover"};
  std::string dir = tmp.path();
  void config(const std::string& json) { std::ofstream(dir + "/config.json") << json; }
};

}  // namespace

TEST_CASE("bundle_cgroup: a plain absolute cgroupsPath, nothing else", "[shim][leftover]") {
  temp_bundle b;
  CHECK(bundle_cgroup(b.dir) == "");  // no config.json
  b.config(R"({"linux":{"cgroupsPath":"/berth/default/web"}})");
  CHECK(bundle_cgroup(b.dir) == "/berth/default/web");
  b.config(R"({"linux":{"cgroupsPath":"system.slice:berth:web"}})");
  CHECK(bundle_cgroup(b.dir) == "");  // systemd's to remove
  b.config(R"({"linux":{"cgroupsPath":"/berth/../../etc"}})");
  CHECK(bundle_cgroup(b.dir) == "");
  b.config(R"({"linux":{"cgroupsPath":"berth/default/web"}})");
  CHECK(bundle_cgroup(b.dir) == "");
  b.config(R"({"linux":{"cgroupsPath":"/"}})");
  CHECK(bundle_cgroup(b.dir) == "");
  b.config("not json");
  CHECK(bundle_cgroup(b.dir) == "");
}

TEST_CASE("kill_runtime_processes ends what works on this bundle, nothing else",
          "[shim][leftover]") {
  temp_bundle b;
  // The shell blocks opening a FIFO nobody writes: a builtin's redirection
  // forks nothing, so no transient copy of the shell (same arguments) can be
  // caught alongside it, as a `sleep` in a loop would be between fork and exec.
  std::string fifo = b.dir + "/block";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto spawn = [&fifo](const std::string& bundle) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", "read x < \"$0\"", fifo.c_str(), "--bundle", bundle.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  pid_t ours = spawn(b.dir);
  pid_t other = spawn(b.dir + "-other");
  // Give execl a moment: before it, the child's arguments are the test's.
  for (int i = 0; i < 200; ++i) {
    std::ifstream f("/proc/" + std::to_string(ours) + "/cmdline");
    std::string all((std::istreambuf_iterator<char>(f)), {});
    if (all.find("--bundle") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Another program naming the bundle is not the runtime's to end.
  CHECK(kill_runtime_processes(b.dir, "runc") == 0);
  CHECK(::kill(ours, 0) == 0);
  // Reaped by a thread, as pid 1 would reap an orphaned runtime.
  int status = 0;
  std::thread reaper([&] { ::waitpid(ours, &status, 0); });
  CHECK(kill_runtime_processes(b.dir, "/bin/sh") == 1);
  ::kill(ours, SIGKILL);  // never leave the reaper waiting, whatever happened
  reaper.join();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(::kill(other, 0) == 0);
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
}
