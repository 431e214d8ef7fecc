// Task logs against a real berthd, shim and runc: a container writing as
// fast as it can leaves at most --log-max-size × --log-max-files bytes of
// log, `t logs --tail 5` prints exactly its last five lines, --since
// filters by time, and bad limits are refused naming the flag.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_fixture.hpp"

using namespace berth::test;
using Catch::Contains;

namespace {

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// berthd's resident memory, in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

TEST_CASE(
    "a container writing as fast as it can stays within its log limit, and t logs --tail 5 "
    "prints its last five lines",
    "[cli][logs]") {
  auto id = unique_id("spam");
  // Eight seconds of `yes` (gigabytes through the shim), then seven known lines.
  auto created = b({"c", "create", "--log-max-size", "1m", "--log-max-files", "3", "--rootfs",
                    rootfs(), kImage, id, "sh", "-c",
                    // No stderr: sh's "Terminated" for the timed-out yes would
                    // race the last lines through the other pipe.
                    "exec 2>/dev/null; busybox timeout 8 busybox yes "
                    "spam-spam-spam-spam-spam-spam-spam-spam-spam-spam-spam-spam-spam; "
                    "for i in 1 2 3 4 5 6 7; do echo last-$i; done"});
  REQUIRE(created.err == "");
  REQUIRE(created.exit_code == 0);
  REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
  auto waited = b({"t", "wait", id});
  REQUIRE(waited.err == "");

  const std::string log = daemon().state() + "/default/" + id + "/task.log";
  CHECK(std::filesystem::exists(log + ".1"));
  CHECK(std::filesystem::exists(log + ".2"));  // it did rotate, more than once
  CHECK_FALSE(std::filesystem::exists(log + ".3"));
  std::uint64_t total = file_size(log) + file_size(log + ".1") + file_size(log + ".2");
  CHECK(total <= 3u * 1024 * 1024);
  for (auto p : {log, log + ".1", log + ".2"}) CHECK(file_size(p) <= 1024u * 1024);

  auto tail = b({"t", "logs", "--tail", "5", id});
  CHECK(tail.err == "");
  CHECK(tail.exit_code == 0);
  CHECK(tail.out == "last-3\nlast-4\nlast-5\nlast-6\nlast-7\n");
  // Streaming, not the whole log at once: berthd stays small.
  auto all = b({"t", "logs", id});
  CHECK(all.exit_code == 0);
  // More text than one file holds (1 MiB with the record headers): the rotated
  // files are read too, oldest first.
  CHECK(all.out.size() > 1024u * 1024);
  CHECK(all.out.substr(all.out.size() - 14) == "last-6\nlast-7\n");
  long rss = rss_kib(daemon().pid());
  CHECK(rss > 0);
  CHECK(rss < 100 * 1024);

  auto future = b({"t", "logs", "--since", "2099-01-01T00:00:00Z", id});
  CHECK(future.exit_code == 0);
  CHECK(future.out == "");
  auto recent = b({"t", "logs", "--since", "1h", "--tail", "2", id});
  CHECK(recent.out == "last-6\nlast-7\n");

  // The limits are the container's: `c info` shows them.
  auto info = b({"c", "info", id});
  CHECK_THAT(info.out, Contains("log_max_size") && Contains("1048576"));

  CHECK(b({"t", "rm", id}).exit_code == 0);
  CHECK(b({"c", "rm", id}).exit_code == 0);
}

TEST_CASE("bad log limits are refused naming the flag", "[cli][logs]") {
  auto id = unique_id("badlog");
  for (auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--log-max-size", "0"},
                                                        {"--log-max-size", "-5m"},
                                                        {"--log-max-size", "10q"},
                                                        {"--log-max-files", "0"},
                                                        {"--log-max-files", "-1"}}) {
    auto r = b({"c", "create", flag, value, "--rootfs", rootfs(), kImage, id, "true"});
    INFO(flag << " " << value << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(flag));
  }
  // Below what a rotated file can usefully hold: the daemon refuses it.
  auto small = b({"c", "create", "--log-max-size", "1k", "--rootfs", rootfs(), kImage, id, "true"});
  CHECK(small.exit_code == 1);
  CHECK_THAT(small.err, Contains("--log-max-size must be at least 4096 bytes") && Contains(id));
  CHECK(b({"c", "info", id}).exit_code != 0);  // nothing was created

  auto bad_since = b({"t", "logs", "--since", "yesterday", id});
  CHECK(bad_since.exit_code == 2);
  CHECK_THAT(bad_since.err, Contains("--since"));
}
