// `berth run` end to end: exit codes, stream order, stdin, signals, a
// terminal session on a pseudo-terminal, -d and --rm.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <csignal>

#include "cli_fixture.hpp"

using namespace berth::test;
using Catch::Contains;
using Catch::StartsWith;

namespace {

std::vector<std::string> run_args(std::vector<std::string> flags, const std::string& id,
                                  std::vector<std::string> command) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--rootfs", rootfs(), kImage, id});
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

}  // namespace

TEST_CASE("run --rm exits with the container's code and leaves nothing", "[cli][run]") {
  auto id = unique_id("exit7");
  auto r = b(run_args({"--rm"}, id, {"sh", "-c", "exit 7"}));
  CHECK(r.err == "");
  CHECK(r.exit_code == 7);
  CHECK(b({"c", "ls", "-q"}).out.find(id) == std::string::npos);
  CHECK(b({"t", "ls", "-q"}).out.find(id) == std::string::npos);
}

TEST_CASE("run --rm of the same id back to back: each waits for the last one's runtime delete",
          "[cli][run]") {
  // The shim answers the delete of a stopped task before `runc delete` ends
  // and finishes it in the background; the next create of the id must wait
  // for it rather than clash with the runtime's state ("already exists").
  auto id = unique_id("again");
  for (int i = 0; i < 5; ++i) {
    auto r = b(run_args({"--rm"}, id, {"echo", std::to_string(i)}));
    INFO("round " << i << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == std::to_string(i) + "\n");
  }
  CHECK(b({"c", "ls", "-q"}).out.find(id) == std::string::npos);
}

TEST_CASE("run keeps stdout and stderr in order, each on its own stream", "[cli][run]") {
  auto r = b(
      run_args({"--rm"}, unique_id("order"),
               {"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo out$i; echo err$i >&2; done"}));
  CHECK(r.exit_code == 0);
  std::string out, err;
  for (int i = 1; i <= 10; ++i) {
    out += "out" + std::to_string(i) + "\n";
    err += "err" + std::to_string(i) + "\n";
  }
  CHECK(r.out == out);
  CHECK(r.err == err);
}

TEST_CASE("stdin piped into run reaches cat, EOF included", "[cli][run]") {
  berth_call call{run_args({"--rm"}, unique_id("cat"), {"cat"}), daemon().address()};
  call.input = "line one\nline two\n";
  auto r = run_berth(call);
  CHECK(r.err == "");
  CHECK(r.out == "line one\nline two\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("a megabyte through stdin and back", "[cli][run]") {
  berth_call call{run_args({"--rm"}, unique_id("big"), {"cat"}), daemon().address()};
  for (int i = 0; call.input.size() < 1024 * 1024; ++i) call.input += std::to_string(i) + "\n";
  auto r = run_berth(call);
  CHECK(r.exit_code == 0);
  CHECK(r.out.size() == call.input.size());
  CHECK(r.out == call.input);
}

TEST_CASE("empty stdin: the container sees EOF at once", "[cli][run]") {
  auto r = b(run_args({"--rm"}, unique_id("eof"), {"sh", "-c", "cat; echo done"}));
  CHECK(r.out == "done\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("SIGTERM to an attached run goes to the task", "[cli][run]") {
  berth_call call{run_args({"--rm"}, unique_id("term"),
                           {"sh", "-c",
                            "trap 'echo got-term; exit 5' TERM; echo ready; "
                            "while true; do sleep 0.1; done"}),
                  daemon().address()};
  call.signal_when = "ready";
  call.signal = SIGTERM;
  call.close_stdin = false;
  auto r = run_berth(call);
  CHECK_FALSE(r.timed_out);
  CHECK(r.out == "ready\ngot-term\n");
  CHECK(r.exit_code == 5);
}

TEST_CASE("run -t on a terminal: an interactive shell", "[cli][run][tty]") {
  pty_session s;
  s.address = daemon().address();
  s.args = run_args({"--rm", "-t"}, unique_id("tty"), {"sh"});
  s.wait_for = "# ";
  s.typed = "echo hi; exit 7\n";
  auto r = run_berth_on_pty(s);
  INFO(r.out);
  CHECK_FALSE(r.timed_out);
  CHECK_THAT(r.out, Contains("\nhi\r\n"));
  CHECK(r.exit_code == 7);
}

TEST_CASE("run -t: the terminal's size reaches the container", "[cli][run][tty]") {
  pty_session s;
  s.address = daemon().address();
  s.args = run_args({"--rm", "-t"}, unique_id("size"), {"sh"});
  s.wait_for = "# ";
  s.typed = "stty size; exit\n";
  auto r = run_berth_on_pty(s);
  INFO(r.out);
  CHECK_THAT(r.out, Contains("30 100"));
  CHECK(r.exit_code == 0);
}

TEST_CASE("run -d returns at once; the task runs until killed", "[cli][run]") {
  auto id = unique_id("detach");
  auto r = b(run_args({"-d"}, id, {"sh", "-c", "while true; do sleep 0.1; done"}));
  CHECK(r.err == "");
  CHECK(r.exit_code == 0);
  CHECK(has_row(b({"t", "ls"}).out, id, "RUNNING"));
  CHECK(b({"t", "kill", "-s", "SIGKILL", id}).exit_code == 0);
  CHECK(b({"t", "wait", id}).out == "137\n");
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("run without --rm keeps the container, deletes the task", "[cli][run]") {
  auto id = unique_id("keep");
  auto r = b(run_args({}, id, {"echo", "kept"}));
  CHECK(r.out == "kept\n");
  CHECK(r.exit_code == 0);
  CHECK_THAT(b({"c", "ls", "-q"}).out, Contains(id));
  CHECK(b({"t", "ls", "-q"}).out.find(id) == std::string::npos);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("run: env, cwd, mounts, user and hostname reach the process", "[cli][run]") {
  berth::test::temp_dir data("berth-cli-mount");
  {
    FILE* f = fopen((data / "greeting").c_str(), "w");
    REQUIRE(f);
    fputs("from-host\n", f);
    fclose(f);
  }
  // The process runs as nobody: let it read the bind-mounted directory.
  chmod(data.path().c_str(), 0755);
  chmod((data / "greeting").c_str(), 0644);
  auto r = b(run_args(
      {"--rm", "--env", "GREETING=hello", "--cwd", "/tmp", "--hostname", "boxy", "--user",
       "65534:65534", "--mount", "type=bind,src=" + data.path() + ",dst=/data,options=ro:rbind"},
      unique_id("opts"),
      {"sh", "-c",
       "echo $GREETING; pwd; hostname; id -u; cat /data/greeting; "
       "touch /data/x 2>/dev/null || echo read-only"}));
  CHECK(r.err == "");
  CHECK(r.out == "hello\n/tmp\nboxy\n65534\nfrom-host\nread-only\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("run: a missing image, a command that does not exist", "[cli][run]") {
  auto missing = b({"run", "--rm", "docker.io/library/nosuch:latest", unique_id("noimg"), "true"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, StartsWith("berth: create container "));
  CHECK_THAT(missing.err, Contains("not found"));

  auto id = unique_id("nocmd");
  auto r = b(run_args({"--rm"}, id, {"/no/such/binary"}));
  CHECK(r.exit_code == 1);
  // runc's own complaint reaches our stderr through the task's stderr first.
  CHECK_THAT(r.err, Contains("berth: create task " + id + ": "));
  CHECK_THAT(r.err, Contains("/no/such/binary"));
  CHECK(b({"c", "ls", "-q"}).out.find(id) == std::string::npos);  // --rm cleaned up
}
