// A slow shim is not a dead one, and recovery is over before the API socket
// appears. Real berthd, berth-shim, runc and crun (through
// tests/support/crun-private-ns): a shim SIGSTOPped across a berthd restart
// makes its task UNKNOWN while everything else is served, and its container
// runs on untouched; a crun task whose records vanished while berthd was down
// is cleaned up by crun before berthd accepts a client.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

pid_t pid_in(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

// A process that is not a zombie: a reaped-or-not container init that died
// must not count as alive.
bool running_process(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

std::uintmax_t size_of(const std::string& file) {
  std::error_code ec;
  auto n = fs::file_size(file, ec);
  return ec ? 0 : n;
}

int mounts_matching(const std::string& part) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, point;
    for (int i = 0; i < 5 && fields >> f; ++i) point = f;
    if (point.find(part) != std::string::npos) ++n;
  }
  return n;
}

// A berthd whose config file lives beside its root (`text` is config.toml).
berthd_process::options with_config(const temp_dir& dir, const std::string& text) {
  auto path = dir / "config.toml";
  std::ofstream(path) << text;
  berthd_process::options o;
  o.extra_args = {"--config", path};
  return o;
}

// What `berth t ls` prints (stdout and stderr).
std::string cli_task_list(const berthd_process& d) {
  std::string cmd = berthd_process::cli_binary() + " --address " + d.address() + " t ls 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

bool grows(const std::string& file, std::chrono::milliseconds within) {
  auto before = size_of(file);
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (size_of(file) > before) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("a shim stopped across a restart: its task is UNKNOWN, then RUNNING with the same pid",
          "[daemon][restart][faults]") {
  temp_dir conf("berth-slow-shim");
  berthd_process d(with_config(conf, "shim_timeout_ms = 1000\n"));
  const std::string beat = d.rootfs() + "/beat-frozen";
  std::uint32_t workload = 0;
  {
    api_client c(d.address());
    // The workload writes a line every 100 ms into its rootfs (a host
    // directory): proof that it runs, whatever berthd thinks.
    REQUIRE(
        c.create_container("", "frozen", d.rootfs(),
                           {"sh", "-c", "while :; do echo x >> /beat-frozen; sleep 0.1; done"}) ==
        wire::ErrorCode::OK);
    REQUIRE(c.create_container("", "lively", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
    std::string err;
    c.run("default", "frozen", &err, &workload);
    REQUIRE(err == "");
    c.run("default", "lively", &err);
    REQUIRE(err == "");
  }
  REQUIRE(grows(beat, std::chrono::seconds(10)));
  pid_t shim = pid_in(d.state() + "/default/frozen/shim.pid");
  REQUIRE(shim > 0);

  d.kill9();
  REQUIRE(::kill(shim, SIGSTOP) == 0);
  d.start();
  api_client c(d.address());

  // The shim misses its deadline at recovery: UNKNOWN, never STOPPED, with
  // the reason in the task's info.
  REQUIRE(c.pump_until([&] { return c.status("default", "frozen") == wire::TaskStatus::UNKNOWN; },
                       std::chrono::seconds(20)));
  auto get = c.berth().getTaskRequest();
  get.initReq().setId("frozen");
  auto got = c.send(get);
  CHECK(got.getResp().getInfo().getPid() == workload);
  std::string reason = got.getResp().getInfo().getExitStatus().getReason().cStr();
  CHECK_THAT(reason, Contains("does not answer") && Contains("pid " + std::to_string(shim)));
  CHECK(running_process(static_cast<pid_t>(workload)));

  // Listing answers from the records at once, in the API and the CLI.
  auto before = std::chrono::steady_clock::now();
  auto tasks = c.list_tasks("default");
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(900));
  REQUIRE(tasks.size() == 2);
  for (auto& [id, status] : tasks)
    CHECK(status == (id == "frozen" ? wire::TaskStatus::UNKNOWN : wire::TaskStatus::RUNNING));
  CHECK_THAT(cli_task_list(d), Contains("frozen") && Contains("UNKNOWN"));

  // A request that needs the shim is refused at once, saying why.
  auto kill = c.task("default", "frozen").killRequest();
  kill.initReq().setSignal(SIGKILL);
  before = std::chrono::steady_clock::now();
  auto killed = c.send(kill);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(900));
  CHECK(killed.getResp().getError().getCode() == wire::ErrorCode::UNAVAILABLE);
  CHECK_THAT(error_of(killed.getResp()),
             Contains("task default/frozen") && Contains("does not answer"));

  // Everything else is served meanwhile: a new container runs, another is
  // killed and deleted.
  REQUIRE(c.create_container("", "third", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  std::string err;
  c.run("default", "third", &err);
  CHECK(err == "");
  CHECK(c.remove("default", "lively") == "");
  CHECK(c.status("default", "third") == wire::TaskStatus::RUNNING);

  // The container never stopped, and berthd keeps asking the stopped shim.
  CHECK(running_process(static_cast<pid_t>(workload)));
  CHECK(grows(beat, std::chrono::seconds(5)));
  c.pump_until([] { return false; }, std::chrono::seconds(2));
  CHECK(c.status("default", "frozen") == wire::TaskStatus::UNKNOWN);

  REQUIRE(::kill(shim, SIGCONT) == 0);
  // Retried with backoff (at most 10 s apart, plus a 1 s deadline).
  REQUIRE(c.pump_until([&] { return c.status("default", "frozen") == wire::TaskStatus::RUNNING; },
                       std::chrono::seconds(30)));
  auto again = c.berth().getTaskRequest();
  again.initReq().setId("frozen");
  CHECK(c.send(again).getResp().getInfo().getPid() == workload);
  CHECK(running_process(static_cast<pid_t>(workload)));
  CHECK(alive(shim));
  CHECK(grows(beat, std::chrono::seconds(5)));
  CHECK_THAT(d.log(), !Contains("task default/frozen exited"));

  // And it is a normal task again: the shim answers for it.
  auto pids = c.task("default", "frozen").pidsRequest();
  pids.initReq();
  CHECK(error_of(c.send(pids).getResp()) == "");
  CHECK(c.remove("default", "frozen") == "");
  CHECK(c.remove("default", "third") == "");
  CHECK(shims_left(d.state()).empty());
  fs::remove(beat);
}

TEST_CASE(
    "a crun task orphaned while berthd was down is cleaned up by crun before the socket opens",
    "[daemon][restart][crun]") {
  temp_dir conf("berth-crun-orphan");
  auto wrapper =
      std::string(std::getenv("BERTH_SOURCE_DIR") ? std::getenv("BERTH_SOURCE_DIR") : ".") +
      "/tests/support/crun-private-ns";
  REQUIRE(::access(wrapper.c_str(), X_OK) == 0);
  berthd_process d(
      with_config(conf, "[runtimes.\"io.berth.crun.v1\"]\nruntime = \"" + wrapper + "\"\n"));
  auto archive = conf / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  const std::string bundle = d.state() + "/default/orphan";
  const std::string crun_state = d.state() + "/.runtime/io.berth.crun.v1/default/orphan";
  std::uint32_t workload = 0;
  {
    api_client c(d.address());
    auto imp = c.berth().importImageRequest();
    imp.initReq().setArchivePath(archive);
    REQUIRE(error_of(c.send(imp).getResp()) == "");
    auto req = c.berth().createContainerRequest();
    req.initReq().setId("orphan");
    req.getReq().setImage("busybox");
    req.getReq().setRuntime("io.berth.crun.v1");
    auto args = req.getReq().initOptions().initProcess().initArgs(3);
    args.set(0, "/bin/busybox");
    args.set(1, "sleep");
    args.set(2, "1000");
    REQUIRE(error_of(c.send(req).getResp()) == "");
    std::string err;
    c.run("default", "orphan", &err, &workload);
    REQUIRE(err == "");
  }
  pid_t shim = pid_in(bundle + "/shim.pid");
  REQUIRE(alive(shim));
  REQUIRE(running_process(static_cast<pid_t>(workload)));
  REQUIRE(mounts_matching(bundle + "/rootfs") == 1);
  REQUIRE(fs::exists(crun_state));

  // A crash between deleting the records and the task: the shim, its crun
  // container, the rootfs mount and the bundle are left, and nothing names
  // them but the bundle itself.
  d.kill9();
  std::string sql = "sqlite3 " + d.root() +
                    "/meta.db \"DELETE FROM tasks WHERE id = 'orphan'; "
                    "DELETE FROM containers WHERE id = 'orphan';\"";
  REQUIRE(std::system(sql.c_str()) == 0);

  d.start();
  // The socket exists now: everything must already be gone.
  CHECK_FALSE(running_process(shim));  // a zombie until its parent reaps it
  CHECK_FALSE(running_process(static_cast<pid_t>(workload)));
  CHECK(mounts_matching(bundle + "/rootfs") == 0);
  CHECK_FALSE(fs::exists(bundle));
  // crun's own record of the container went too: crun, not runc, deleted it.
  CHECK_FALSE(fs::exists(crun_state));
  CHECK_THAT(d.log(), Contains("deleting shim of default/orphan (runtime io.berth.crun.v1)"));
  CHECK(shims_under(d.state()).empty());
}
