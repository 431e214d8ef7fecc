// berth_runc without a real runtime: exact command lines, log parsing, and
// spawning fake runtimes (shell scripts) to check stdio, signals and fds.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "shim/runc/runc_client.hpp"
#include "tests/support/busybox_bundle.hpp"

using berth::runc::invocation;
using berth::runc::runc_client;
using berth::runc::runtime_config;
using berth::runc::runtime_kind;
using berth::runc::spawn_stdio;
using berth::test::temp_dir;
using args_t = std::vector<std::string>;

namespace {

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path, std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// A fake runtime: a shell script that sees the same argv as runc would
// ($1 --log, $2 the log path, $3 --log-format, $4 json, $5 the operation...).
std::string fake_runtime(const temp_dir& dir, const std::string& name, const std::string& body) {
  std::string path = dir / name;
  write_file(path, "#!/bin/sh\n" + body + "\n", 0755);
  return path;
}

bool dir_is_empty(const std::string& path) {
  return std::filesystem::is_empty(std::filesystem::path(path));
}

}  // namespace

TEST_CASE("the kind comes from the binary's basename", "[runc]") {
  CHECK(berth::runc::detect_kind("runc") == runtime_kind::runc);
  CHECK(berth::runc::detect_kind("/usr/sbin/runc") == runtime_kind::runc);
  CHECK(berth::runc::detect_kind("crun") == runtime_kind::crun);
  CHECK(berth::runc::detect_kind("/work/tests/support/crun-private-ns") == runtime_kind::crun);
  CHECK(berth::runc::detect_kind("/opt/crun/bin/runc") == runtime_kind::runc);
  CHECK(runc_client({.binary = "/x/crun-private-ns", .log_dir = "/tmp"}).kind() ==
        runtime_kind::crun);
  CHECK(runc_client({.binary = "wrapper", .log_dir = "/tmp", .kind = runtime_kind::crun}).kind() ==
        runtime_kind::crun);
  CHECK(runc_client({.binary = "/x/crun-private-ns"}).name() == "crun-private-ns");
}

TEST_CASE("builders give the exact subcommand arguments", "[runc]") {
  // runc 1.1.5 and crun 1.8.1 accept the same flags for all of these (checked
  // against `--help` and real runs), so one list serves both.
  CHECK(runc_client::create_args("c1", "/b", "/b/pid", "") ==
        args_t{"create", "--bundle", "/b", "--pid-file", "/b/pid", "c1"});
  CHECK(runc_client::create_args("c1", "/b", "/b/pid", "/run/s.sock") ==
        args_t{"create", "--bundle", "/b", "--pid-file", "/b/pid", "--console-socket",
               "/run/s.sock", "c1"});
  CHECK(runc_client::create_args("c1", "/b", "", "") == args_t{"create", "--bundle", "/b", "c1"});
  CHECK(runc_client::start_args("c1") == args_t{"start", "c1"});
  CHECK(runc_client::delete_args("c1", false) == args_t{"delete", "c1"});
  CHECK(runc_client::delete_args("c1", true) == args_t{"delete", "--force", "c1"});
  CHECK(runc_client::kill_args("c1", 15, false) == args_t{"kill", "c1", "15"});
  CHECK(runc_client::kill_args("c1", 9, true) == args_t{"kill", "--all", "c1", "9"});
  CHECK(runc_client::pause_args("c1") == args_t{"pause", "c1"});
  CHECK(runc_client::resume_args("c1") == args_t{"resume", "c1"});
  CHECK(runc_client::ps_args("c1") == args_t{"ps", "--format", "json", "c1"});
  CHECK(runc_client::exec_args("c1", "/p.json", "/e.pid", "", true) ==
        args_t{"exec", "--process", "/p.json", "--detach", "--pid-file", "/e.pid", "c1"});
  CHECK(runc_client::exec_args("c1", "/p.json", "/e.pid", "/s.sock", true) ==
        args_t{"exec", "--process", "/p.json", "--detach", "--pid-file", "/e.pid",
               "--console-socket", "/s.sock", "c1"});
  CHECK(runc_client::exec_args("c1", "/p.json", "", "", false) ==
        args_t{"exec", "--process", "/p.json", "c1"});
  CHECK(runc_client::update_args("c1", "/r.json") ==
        args_t{"update", "--resources", "/r.json", "c1"});
  CHECK(runc_client::checkpoint_args("c1", "/img", false, "") ==
        args_t{"checkpoint", "--image-path", "/img", "c1"});
  CHECK(runc_client::checkpoint_args("c1", "/img", true, "/work") ==
        args_t{"checkpoint", "--image-path", "/img", "--work-path", "/work", "--leave-running",
               "c1"});
  CHECK(runc_client::state_args("c1") == args_t{"state", "c1"});
}

TEST_CASE("argv puts the global flags before the subcommand", "[runc]") {
  runc_client runc({.binary = "runc", .root = "/run/berth/runc", .log_dir = "/tmp"});
  CHECK(runc.argv("/tmp/l.log", runc_client::start_args("c1")) ==
        args_t{"runc", "--root", "/run/berth/runc", "--log", "/tmp/l.log", "--log-format", "json",
               "start", "c1"});

  runc_client crun({.binary = "/usr/bin/crun", .log_dir = "/tmp"});
  CHECK(crun.argv("/tmp/l.log", runc_client::ps_args("c1")) ==
        args_t{"/usr/bin/crun", "--log", "/tmp/l.log", "--log-format", "json", "ps", "--format",
               "json", "c1"});

  runc_client wrapped({.binary = "/src/tests/support/crun-private-ns", .root = "/r"});
  CHECK(wrapped.argv("/l", runc_client::kill_args("c1", 9, true)) ==
        args_t{"/src/tests/support/crun-private-ns", "--root", "/r", "--log", "/l", "--log-format",
               "json", "kill", "--all", "c1", "9"});
}

TEST_CASE("finish picks the reason out of the log and removes it", "[runc]") {
  temp_dir dir;
  runc_client runc({.binary = "/usr/sbin/runc", .log_dir = dir.path()});
  auto finish_with = [&](const std::string& log, int status, std::string op = "create") {
    invocation inv;
    inv.pid = 1;
    inv.operation = std::move(op);
    inv.log_path = dir / "fake.log";
    write_file(inv.log_path, log);
    auto result = runc.finish(inv, status);
    CHECK_FALSE(std::filesystem::exists(inv.log_path));
    return result;
  };

  SECTION("exit 0 is success whatever the log says") {
    CHECK_FALSE(finish_with(R"({"level":"error","msg":"ignored"})", W_EXITCODE(0, 0)));
  }
  SECTION("the last error line wins over later info lines") {
    std::string log =
        R"({"level":"info","msg":"starting","time":"t"})"
        "\n"
        R"({"level":"error","msg":"first problem","time":"t"})"
        "\n"
        R"({"level":"error","msg":"exec: \"nosuch\": executable file not found in $PATH","time":"t"})"
        "\n"
        R"({"level":"info","msg":"cleaning up","time":"t"})"
        "\n";
    CHECK(finish_with(log, W_EXITCODE(1, 0)) ==
          R"(runc create failed: exec: "nosuch": executable file not found in $PATH)");
  }
  SECTION("fatal counts as error; crun's key order is fine") {
    CHECK(finish_with(R"({"msg":"bad thing","level":"fatal","time":"t"})", W_EXITCODE(1, 0)) ==
          "runc create failed: bad thing");
  }
  SECTION("runc's own 'runc create failed:' prefix is not repeated") {
    CHECK(
        finish_with(
            R"({"level":"error","msg":"runc create failed: chdir /x: no such file or directory"})",
            W_EXITCODE(1, 0)) == "runc create failed: chdir /x: no such file or directory");
  }
  SECTION("a trailing newline inside msg is trimmed") {
    CHECK(finish_with(R"({"level":"error","msg":"No help topic for 'bogus'\n"})", W_EXITCODE(3, 0),
                      "bogus") == "runc bogus failed: No help topic for 'bogus'");
  }
  SECTION("without an error line, the last line, JSON or not") {
    CHECK(finish_with("{\"level\":\"warning\",\"msg\":\"w\"}\nchdir `/nonexist` failed: No such "
                      "file or directory\n\n",
                      W_EXITCODE(1, 0)) ==
          "runc create failed: chdir `/nonexist` failed: No such file or directory");
    CHECK(finish_with("{\"level\":\"warning\",\"msg\":\"only a warning\"}\n", W_EXITCODE(1, 0)) ==
          "runc create failed: only a warning");
  }
  SECTION("an empty log gives the exit status") {
    CHECK(finish_with("", W_EXITCODE(3, 0)) == "runc create failed: exit status 3");
    CHECK(finish_with("\n  \n", W_EXITCODE(3, 0)) == "runc create failed: exit status 3");
  }
  SECTION("a killed runtime says so unless it logged an error") {
    CHECK(finish_with("", W_EXITCODE(0, SIGKILL)) == "runc create failed: killed by signal 9");
    CHECK(finish_with(R"({"level":"debug","msg":"chatter"})", W_EXITCODE(0, SIGKILL)) ==
          "runc create failed: killed by signal 9");
    CHECK(finish_with(R"({"level":"error","msg":"real cause"})", W_EXITCODE(0, SIGKILL)) ==
          "runc create failed: real cause");
  }
  SECTION("a line whose level is not a string is an ordinary line, not an exception") {
    // Found by the runc_log fuzz target (tests/fuzz/regressions/runc_log/).
    CHECK(finish_with("{\"level\":1,\"msg\":\"odd level\"}\n", W_EXITCODE(1, 0)) ==
          "runc create failed: odd level");
    CHECK(finish_with("{\"level\":\"error\",\"msg\":\"cause\"}\n{\"level\":null,\"msg\":\"x\"}\n",
                      W_EXITCODE(1, 0)) == "runc create failed: cause");
  }
  SECTION("a missing log file is not an error of its own") {
    invocation inv;
    inv.operation = "start";
    inv.log_path = dir / "never-written.log";
    CHECK(runc.finish(inv, W_EXITCODE(2, 0)) == "runc start failed: exit status 2");
  }
}

TEST_CASE("parse_ps_output reads runc's and crun's pid arrays", "[runc]") {
  CHECK(berth::runc::parse_ps_output("[4663]\n") == std::vector<int>{4663});
  CHECK(berth::runc::parse_ps_output("[\n  4692,\n  4700\n]\n") == std::vector<int>{4692, 4700});
  CHECK(berth::runc::parse_ps_output("[]").empty());
  CHECK(berth::runc::parse_ps_output("null\n").empty());

  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(berth::runc::parse_ps_output(""), Contains("not JSON"));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output("PID\n123\n"), Contains("not JSON"));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output(R"({"pids":[1]})"), Contains("not a JSON array"));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output(R"([1,"2"])"), Contains("not a pid: \"2\""));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output("[1,-3]"), Contains("not a pid: -3"));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output("[1.5]"), Contains("not a pid"));
  CHECK_THROWS_WITH(berth::runc::parse_ps_output("[1,"), Contains("cannot parse ps output"));
}

TEST_CASE("resources_json writes only the values that are set", "[runc]") {
  CHECK(berth::runc::resources_json(0, 0, 0, 0, 0) == "{}");
  CHECK(berth::runc::resources_json(67108864, 50000, 100000, 512, 100) ==
        R"({"cpu":{"period":100000,"quota":50000,"shares":512},"memory":{"limit":67108864},)"
        R"("pids":{"limit":100}})");
  CHECK(berth::runc::resources_json(-1, -1, 0, 0, -1) ==
        R"({"cpu":{"quota":-1},"memory":{"limit":-1},"pids":{"limit":-1}})");
  CHECK(berth::runc::resources_json(0, 0, 0, 0, 5) == R"({"pids":{"limit":5}})");
}

TEST_CASE("a runtime that cannot be started is a clear error", "[runc][spawn]") {
  temp_dir logs;
  using Catch::Matchers::Equals;
  {
    runc_client missing({.binary = "/nonexistent/runc", .log_dir = logs.path()});
    CHECK_THROWS_WITH(missing.spawn("create", runc_client::start_args("c1")),
                      Equals("cannot run /nonexistent/runc: No such file or directory"));
  }
  {
    runc_client missing({.binary = "berth-no-such-runtime", .log_dir = logs.path()});
    CHECK_THROWS_WITH(missing.run_sync("start", runc_client::start_args("c1")),
                      Equals("cannot run berth-no-such-runtime: No such file or directory"));
  }
  CHECK(dir_is_empty(logs.path()));  // no log file left behind

  runc_client bad_dir({.binary = "/bin/true", .log_dir = "/nonexistent/logs"});
  CHECK_THROWS_WITH(
      bad_dir.spawn("start", runc_client::start_args("c1")),
      Catch::Matchers::StartsWith("cannot create runtime log file /nonexistent/logs/"));
}

TEST_CASE("run_sync reports exit statuses", "[runc][spawn]") {
  temp_dir logs;
  CHECK_FALSE(runc_client({.binary = "/bin/true", .log_dir = logs.path()}).run_sync("version", {}));
  CHECK(runc_client({.binary = "/bin/false", .log_dir = logs.path()}).run_sync("version", {}) ==
        "false version failed: exit status 1");
  CHECK(dir_is_empty(logs.path()));
}

TEST_CASE("fake runtimes: log, stderr and stdout reach the caller", "[runc][spawn]") {
  temp_dir dir;
  auto client = [&](const std::string& body) {
    return runc_client({.binary = fake_runtime(dir, "fake-runc", body), .log_dir = dir / "logs"});
  };
  std::filesystem::create_directory(dir / "logs");

  SECTION("the JSON error line the runtime logged") {
    auto c = client(R"(printf '{"level":"error","msg":"container \"c1\" does not exist"}\n' >> "$2"
echo "some text on stderr" >&2
exit 3)");
    CHECK(c.run_sync("kill", runc_client::kill_args("c1", 9)) ==
          R"(fake-runc kill failed: container "c1" does not exist)");
  }
  SECTION("stderr-only errors land in the log (crun prints some only there)") {
    auto c = client("echo 'chdir `/nonexist` failed: No such file or directory' >&2; exit 1");
    CHECK(c.run_sync("start", runc_client::start_args("c1")) ==
          "fake-runc start failed: chdir `/nonexist` failed: No such file or directory");
  }
  SECTION("create hands stderr to the container, so it is not read as an error") {
    auto c = client("echo 'container output' >&2; exit 1");
    CHECK(c.run_sync("create", runc_client::create_args("c1", "/b", "", "")) ==
          "fake-runc create failed: exit status 1");
  }
  SECTION("the runtime sees exactly argv()") {
    auto c = client(R"(shift 4; printf '%s|' "$@")");
    std::string out;
    CHECK_FALSE(c.run_sync("exec", runc_client::exec_args("c 1", "/p.json", "", "", true), &out));
    CHECK(out == "exec|--process|/p.json|--detach|c 1|");
  }
  SECTION("captured stdout, larger than a pipe buffer") {
    auto c = client("seq 1 40000");
    std::string out;
    CHECK_FALSE(c.run_sync("ps", runc_client::ps_args("c1"), &out));
    CHECK(out.size() > 65536);
    CHECK(out.substr(out.size() - 6) == "40000\n");
  }
  SECTION("explicit stdio fds are used") {
    int in = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    int out = ::open((dir / "out.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    auto c = client("cat; echo to-err >&2");
    CHECK_FALSE(c.run_sync("exec", {"exec"}, nullptr, {.in = in, .out = out, .err = out}));
    ::close(in);
    ::close(out);
    std::ifstream host("/etc/hostname"), got(dir / "out.txt");
    std::string expected((std::istreambuf_iterator<char>(host)), {});
    std::string text((std::istreambuf_iterator<char>(got)), {});
    CHECK(text == expected + "to-err\n");
  }
  CHECK(dir_is_empty(dir / "logs"));
}

TEST_CASE("the runtime starts with clean signals and no stray fds", "[runc][spawn]") {
  temp_dir dir;
  // What the shim does: SIGCHLD blocked for its signalfd, SIGPIPE ignored.
  sigset_t chld, old_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGTERM);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &chld, &old_mask) == 0);
  struct sigaction ign {
  }, old_pipe{};
  ign.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGPIPE, &ign, &old_pipe) == 0);
  // A descriptor someone forgot to mark close-on-exec.
  int leak = ::open("/dev/null", O_RDONLY);
  REQUIRE(::dup2(leak, 57) == 57);

  runc_client c({.binary = fake_runtime(dir, "fake-runc",
                                        "grep -E '^Sig(Blk|Ign):' /proc/self/status\n"
                                        "test -e /proc/self/fd/57 && echo fd57-leaked\n"
                                        "true"),
                 .log_dir = dir.path()});
  std::string out;
  auto err = c.run_sync("state", runc_client::state_args("c1"), &out);

  ::close(57);
  ::close(leak);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  CHECK_FALSE(err);
  CHECK(out == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_CASE("spawn returns at once and leaves waiting to the caller", "[runc][spawn]") {
  temp_dir dir;
  runc_client c({.binary = fake_runtime(dir, "slow-runc", "exec sleep 30"), .log_dir = dir.path()});
  auto t0 = std::chrono::steady_clock::now();
  invocation inv = c.spawn("start", runc_client::start_args("c1"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  REQUIRE(inv.pid > 0);
  CHECK(std::filesystem::exists(inv.log_path));

  int status = 0;
  CHECK(::waitpid(inv.pid, &status, WNOHANG) == 0);  // still running: nobody waited
  ::kill(inv.pid, SIGKILL);
  REQUIRE(::waitpid(inv.pid, &status, 0) == inv.pid);
  CHECK(c.finish(inv, status) == "slow-runc start failed: killed by signal 9");
  CHECK_FALSE(std::filesystem::exists(inv.log_path));
}

TEST_CASE("invocation owns the captured stdout fd", "[runc][spawn]") {
  temp_dir dir;
  runc_client c({.binary = "/bin/true", .log_dir = dir.path()});
  invocation a = c.spawn("ps", runc_client::ps_args("c1"), {.capture_stdout = true});
  REQUIRE(a.stdout_fd >= 0);
  int fd = a.stdout_fd;
  invocation b = std::move(a);
  CHECK(a.stdout_fd == -1);
  CHECK(b.stdout_fd == fd);
  int status = 0;
  REQUIRE(::waitpid(b.pid, &status, 0) == b.pid);
  CHECK(runc_client::read_captured(b).empty());
  CHECK(b.stdout_fd == -1);
  CHECK(::fcntl(fd, F_GETFD) == -1);  // closed
  CHECK_FALSE(c.finish(b, status));
}

TEST_CASE("busybox bundle config has runc spec's defaults and our process", "[bundle]") {
  using nlohmann::json;
  json c = json::parse(berth::test::busybox_config_json({.args = {"sh", "-c", "echo hi"},
                                                         .terminal = true,
                                                         .env = {"A=1"},
                                                         .readonly_rootfs = true}));
  CHECK(c["process"]["args"] == json({"sh", "-c", "echo hi"}));
  CHECK(c["process"]["terminal"] == true);
  CHECK(c["process"]["env"] ==
        json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1",
              "TERM=xterm"}));
  CHECK(c["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE");
  CHECK(c["process"]["capabilities"]["bounding"] ==
        json({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  CHECK(c["hostname"] == "berth");
  CHECK(c["root"] == json({{"path", "rootfs"}, {"readonly", true}}));
  std::vector<std::string> ns, dests;
  for (auto& n : c["linux"]["namespaces"]) ns.push_back(n["type"]);
  for (auto& m : c["mounts"]) dests.push_back(m["destination"]);
  CHECK(ns == std::vector<std::string>{"pid", "network", "ipc", "uts", "mount"});
  CHECK(dests == std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                          "/sys", "/sys/fs/cgroup"});
  CHECK(c["linux"]["maskedPaths"].size() == 10);
  CHECK(c["linux"]["readonlyPaths"].size() == 5);

  json d = json::parse(berth::test::busybox_config_json());
  CHECK(d["process"]["args"] == json({"sh"}));
  CHECK(d["process"]["terminal"] == false);
  CHECK(d["process"]["env"].size() == 1);  // PATH only
  CHECK(d["root"]["readonly"] == false);
  json own_path = json::parse(berth::test::busybox_config_json({.env = {"PATH=/bin"}}));
  CHECK(own_path["process"]["env"] == json({"PATH=/bin"}));
}

TEST_CASE("make_busybox_bundle writes rootfs and config; temp_dir cleans up", "[bundle]") {
  std::string kept;
  {
    temp_dir dir;
    kept = dir.path();
    berth::test::make_busybox_bundle(dir.path(), {.args = {"echo", "hello"}});
    namespace fs = std::filesystem;
    CHECK(fs::is_regular_file(dir / "rootfs/bin/busybox"));
    CHECK(::access((dir / "rootfs/bin/busybox").c_str(), X_OK) == 0);
    for (const auto& applet : berth::test::busybox_applets()) {
      INFO(applet);
      CHECK(fs::read_symlink(fs::path(dir / "rootfs/bin") / applet) == "busybox");
    }
    CHECK(fs::is_directory(dir / "rootfs/proc"));
    auto c = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    CHECK(c["process"]["args"] == nlohmann::json({"echo", "hello"}));
    // Running it twice over the same dir is fine (benchmarks reuse dirs).
    berth::test::make_busybox_bundle(dir.path());
  }
  CHECK_FALSE(std::filesystem::exists(kept));
  CHECK_THROWS_WITH(berth::test::make_busybox_bundle("/tmp/x", {.args = {}}),
                    Catch::Matchers::Contains("must not be empty"));
}
