// An attached client never holds its container back: `berth run` or
// `berth t attach` killed with -9 while the container writes, or a client
// that stops reading its output, costs the container nothing. Its output
// goes on reaching the task log, and it stays RUNNING and killable.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <csignal>

#include "cli_fixture.hpp"

using namespace berth::test;

namespace {

// About 1.3 MB/s in bursts of 64 KB, each more than a FIFO holds: enough to
// fill any pipe quickly, little enough for the log to stay small.
const std::vector<std::string> kChatty = {
    "sh", "-c",
    "i=0; while true; do i=$((i+1)); echo burst-$i; "
    "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -n 1000; "
    "sleep 0.05; done"};

std::vector<std::string> run_args(const std::string& id, std::vector<std::string> flags = {}) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--rootfs", rootfs(), kImage, id});
  args.insert(args.end(), kChatty.begin(), kChatty.end());
  return args;
}

off_t log_size(const std::string& id) {
  struct stat st {};
  auto path = daemon().state() + "/default/" + id + "/task.log";
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// The task log grows by `bytes` within 30 s: six times the shim's stall
// limit, so a loaded machine cannot fail it; on a blocked container it
// never grows at all.
bool log_grows(const std::string& id, off_t bytes) {
  off_t from = log_size(id);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (log_size(id) >= from + bytes) return true;
    usleep(100 * 1000);
  }
  return false;
}

// The container is RUNNING, a SIGKILL ends it with 137, and it goes away.
void still_running_then_killed(const std::string& id) {
  CHECK(has_row(b({"t", "ls"}).out, id, "RUNNING"));
  CHECK(b({"t", "kill", "-s", "SIGKILL", id}).exit_code == 0);
  CHECK(b({"t", "wait", id}).out == "137\n");
  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

}  // namespace

TEST_CASE("kill -9 of an attached run: the container writes on, to its log",
          "[cli][run][clients]") {
  auto id = unique_id("run-killed");
  {
    background_berth client(daemon().address(), run_args(id));
    REQUIRE(client.read_until("burst-2\n", std::chrono::seconds(60)));
    client.signal(SIGKILL);
    client.wait();
  }
  // Far more than the FIFO and the container's pipe hold together (128 KiB).
  CHECK(log_grows(id, 4 * 1024 * 1024));
  // (Not CHECK_THAT: on failure it would print megabytes of log.)
  CHECK(b({"t", "logs", id}).out.find("burst-20\n") != std::string::npos);
  still_running_then_killed(id);
}

TEST_CASE("kill -9 of t attach: the container writes on, to its log", "[cli][tasks][clients]") {
  auto id = unique_id("attach-killed");
  REQUIRE(b(run_args(id, {"-d"})).exit_code == 0);
  {
    background_berth client(daemon().address(), {"t", "attach", id});
    REQUIRE(client.read_until("burst-", std::chrono::seconds(60)));
    client.signal(SIGKILL);
    client.wait();
  }
  CHECK(log_grows(id, 4 * 1024 * 1024));
  still_running_then_killed(id);
}

TEST_CASE("an attached run that stops reading does not block the container",
          "[cli][run][clients]") {
  auto id = unique_id("run-stalled");
  // Nobody reads this berth's stdout past the first lines: its pipe fills,
  // then its FIFO. berth is alive all along.
  background_berth client(daemon().address(), run_args(id));
  REQUIRE(client.read_until("burst-1\n", std::chrono::seconds(60)));
  CHECK(log_grows(id, 4 * 1024 * 1024));
  // The stalled berth would delete the task once it ends: let it go first.
  client.signal(SIGKILL);
  client.wait();
  still_running_then_killed(id);
}
