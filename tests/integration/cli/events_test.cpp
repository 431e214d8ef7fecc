// `berth events --since N` against a real berthd that is killed and
// restarted: the exit of a container that died while berthd was down is
// printed once, with gap-free sequence numbers, also after a second restart;
// and an events client whose stdout nobody reads is dropped by berthd with a
// message, while another client gets every event.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berth_runner.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

std::string unique(const std::string& stem) {
  static int next = 0;
  return stem + "-" + std::to_string(getpid()) + "-" + std::to_string(next++);
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<std::string> create(berthd_process& d, const std::string& id,
                                std::vector<std::string> cmd) {
  std::vector<std::string> args = {"c", "create", "--rootfs", d.rootfs(), "local/busybox:latest",
                                   id};
  args.insert(args.end(), cmd.begin(), cmd.end());
  return args;
}

// Every line's sequence follows the one before, starting at `first`.
void require_consecutive(const std::vector<nlohmann::json>& lines, std::uint64_t first) {
  REQUIRE_FALSE(lines.empty());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i].dump());
    REQUIRE(lines[i]["sequence"].get<std::uint64_t>() == first + i);
  }
}

}  // namespace

TEST_CASE("events --since prints an exit from while berthd was down, once", "[cli][events]") {
  berthd_process d;
  auto id = unique("down");
  REQUIRE(run_berth_at(d.address(), create(d, id, {"sleep", "1000"})).exit_code == 0);
  REQUIRE(run_berth_at(d.address(), {"t", "start", "-d", id}).exit_code == 0);

  std::uint64_t started = 0;
  std::uint32_t pid = 0;
  {
    background_berth ev(d.address(), {"events", "--since", "0", "--format", "json"});
    REQUIRE(ev.read_until("/tasks/start"));
    REQUIRE(ev.read_until("\n", 5s));
    for (auto& l : json_lines(ev.out().substr(0, ev.out().rfind('\n') + 1))) {
      if (l["topic"] == "/tasks/start" && l["event"]["id"] == id) {
        started = l["sequence"];
        pid = l["event"]["pid"];
      }
    }
    ev.signal(SIGINT);
    CHECK(ev.wait() == 0);
  }
  REQUIRE(started > 0);
  REQUIRE(pid > 0);

  d.kill9();
  REQUIRE(::kill(static_cast<pid_t>(pid), SIGKILL) == 0);
  for (int i = 0; i < 400 && std::filesystem::exists("/proc/" + std::to_string(pid)); ++i)
    std::this_thread::sleep_for(50ms);
  d.start();

  std::uint64_t exit_seq = 0;
  for (int round = 0; round < 2; ++round) {
    INFO("after restart " << round + 1);
    background_berth ev(d.address(),
                        {"events", "--since", std::to_string(started), "--format", "json"});
    auto marker = unique("marker");
    REQUIRE(run_berth_at(d.address(), create(d, marker, {"true"})).exit_code == 0);
    REQUIRE(ev.read_until("\"id\":\"" + marker + "\""));
    ev.signal(SIGINT);
    CHECK(ev.wait() == 0);
    auto lines = json_lines(ev.out());
    require_consecutive(lines, started + 1);
    int exits = 0;
    for (auto& l : lines) {
      if (l["topic"] == "/tasks/exit" && l["event"]["id"] == id) {
        ++exits;
        CHECK(l["event"]["exit_status"]["code"] == 137);
        if (round == 0) exit_seq = l["sequence"];
        CHECK(l["sequence"] == exit_seq);
      }
    }
    CHECK(exits == 1);
    CHECK(run_berth_at(d.address(), {"c", "rm", marker}).exit_code == 0);
    if (round == 0) {
      d.stop();
      d.start();
    }
  }
  // The table format shows the same numbers first on each line.
  auto since = std::to_string(exit_seq - 1);
  background_berth table(d.address(), {"events", "--since", since});
  REQUIRE(table.read_until("/tasks/exit"));
  CHECK_THAT(table.out(), Catch::StartsWith(std::to_string(exit_seq) + " "));
  table.signal(SIGINT);
  CHECK(table.wait() == 0);
  run_berth_at(d.address(), {"t", "rm", id});
  run_berth_at(d.address(), {"c", "rm", id});
}

TEST_CASE("events whose stdout is not read is dropped with a message", "[cli][events]") {
  berthd_process d{{{"--event-subscriber-limit", "10"}}};
  background_berth good(d.address(), {"events"});

  // The stuck client: stdout a one-page pipe nobody reads, stderr a file.
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  ::fcntl(out[1], F_SETPIPE_SZ, 4096);
  auto err_path = d.state() + "/../stuck-events.err";
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(out[1], 1);
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    auto bin = berth_binary();
    auto addr = d.address();
    ::execl(bin.c_str(), bin.c_str(), "--address", addr.c_str(), "events", nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  std::this_thread::sleep_for(500ms);  // connected and subscribed

  std::string last;
  for (int i = 0; i < 40; ++i) {
    last = unique("flood");
    REQUIRE(run_berth_at(d.address(), create(d, last, {"true"})).exit_code == 0);
    REQUIRE(run_berth_at(d.address(), {"c", "rm", last}).exit_code == 0);
  }
  // berthd dropped the stuck one; the other one got everything.
  for (int i = 0; i < 200 && d.log().find("dropped a subscriber") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);
  CHECK_THAT(d.log(), Contains("events: dropped a subscriber: subscriber too slow"));
  REQUIRE(good.read_until("/containers/delete {\"id\":\"" + last + "\""));

  // Once its stdout is read, the stuck client prints berthd's notice and fails.
  char buf[4096];
  while (::read(out[0], buf, sizeof buf) > 0) {
  }
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  std::ifstream err_file(err_path);
  std::string err((std::istreambuf_iterator<char>(err_file)), std::istreambuf_iterator<char>());
  CHECK_THAT(err, Contains("subscriber too slow: "));
  CHECK_THAT(err, Contains("resubscribe with --since "));
  good.signal(SIGINT);
  CHECK(good.wait() == 0);
}
