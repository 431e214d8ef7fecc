// task_log_reader over files the shim's task_log wrote (the real writer, in
// a temp dir): --tail finds the last lines across rotated files, a line cut
// into P records counts once, --since skips older records, and a follower
// moves on to the new task.log when the writer rotates. Also the limits'
// parsing and checks (schema/log_limits.hpp) and the choice of a container's
// limits.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "actors/daemon/daemon_config.hpp"
#include "actors/daemon/task_log_options.hpp"
#include "actors/daemon/task_log_reader.hpp"
#include "actors/errors.hpp"
#include "schema/log_limits.hpp"
#include "shim/core/task_log.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using berth::test::temp_dir;

namespace {

// The lines the reader hands out, P records joined.
std::string lines_of(task_log_reader& r, std::int64_t since = 0) {
  std::string out;
  for (;;) {
    auto batch = r.next(4096, since);
    if (batch.empty()) return out;
    for (auto& rec : batch) out += rec.text + (rec.partial ? "" : "\n");
  }
}

}  // namespace

TEST_CASE("tail reads the last lines across rotated files", "[task_log_reader]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  {
    shim::task_log log(path, {4096, 3});
    for (int i = 0; i < 300; ++i) log.write("stdout", "line-" + std::to_string(i) + "\n");
  }
  REQUIRE(std::filesystem::exists(path + ".2"));
  for (std::uint64_t n : {1u, 5u, 60u}) {
    task_log_reader r(path);
    r.tail(n);
    std::string want;
    for (int i = 300 - static_cast<int>(n); i < 300; ++i)
      want += "line-" + std::to_string(i) + "\n";
    CHECK(lines_of(r) == want);
  }
  // More lines than the files hold: all of them, oldest first.
  task_log_reader all(path);
  all.tail(100000);
  std::string every = lines_of(all);
  CHECK(every.substr(every.size() - 9) == "line-299\n");
  task_log_reader untailed(path);
  CHECK(lines_of(untailed) == every);
}

TEST_CASE("tail counts a line in P records once, and a line in progress as the last",
          "[task_log_reader]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  shim::task_log log(path, {});
  log.write("stdout", "first\nsec");
  log.write("stdout", "ond\n");
  log.write("stderr", "err\n");
  log.write("stdout", "thi");
  log.write("stdout", "rd");
  task_log_reader r(path);
  r.tail(2);
  auto batch = r.next(1 << 20);
  REQUIRE(batch.size() == 3);
  CHECK((batch[0].text == "err" && batch[0].stream == "stderr" && !batch[0].partial));
  CHECK((batch[1].text == "thi" && batch[1].partial));
  CHECK((batch[2].text == "rd" && batch[2].partial));
  task_log_reader r3(path);
  r3.tail(3);
  CHECK(lines_of(r3) == "second\nerr\nthird");
}

TEST_CASE("since skips older records; every record has its time", "[task_log_reader]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  shim::task_log log(path, {});
  log.write("stdout", "old\n");
  auto cut = parse_rfc3339_ns(shim::rfc3339_now());
  REQUIRE(cut);
  log.write("stdout", "new\n");
  task_log_reader r(path);
  auto batch = r.next(1 << 20, *cut);
  REQUIRE(batch.size() == 1);
  CHECK(batch[0].text == "new");
  CHECK(batch[0].time_ns >= *cut);
}

TEST_CASE("a follower goes on in the new task.log after a rotation", "[task_log_reader]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  shim::task_log log(path, {4096, 2});
  log.write("stdout", "a-0\n");
  task_log_reader r(path);
  CHECK(lines_of(r) == "a-0\n");
  std::string want;
  for (int i = 1; i < 60; ++i) {  // about 2.5 KiB: one rotation at most
    auto line = "a-" + std::to_string(i) + "\n";
    log.write("stdout", std::string(20, 'x') + line);
    want += std::string(20, 'x') + line;
  }
  CHECK(lines_of(r) == want);
}

TEST_CASE("log sizes read as docker reads them; bad limits name the flag", "[log_limits]") {
  CHECK(parse_log_size("4096", "--log-max-size") == 4096);
  CHECK(parse_log_size("10m", "--log-max-size") == 10u << 20);
  CHECK(parse_log_size("10MB", "--log-max-size") == 10u << 20);
  CHECK(parse_log_size("1g", "--log-max-size") == 1u << 30);
  CHECK(parse_log_size("2KiB", "--log-max-size") == 2048);
  CHECK_THROWS_WITH(parse_log_size("0", "--log-max-size"),
                    Catch::Contains("--log-max-size") && Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(parse_log_size("-1m", "--log-max-size"), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(parse_log_size("10q", "--log-max-size"), Catch::Contains("unknown unit"));
  CHECK_THROWS_WITH(parse_log_size("m", "--log-max-size"), Catch::Contains("is not a size"));
  CHECK_THROWS_WITH(parse_log_size("99999999999t", "--log-max-size"), Catch::Contains("too large"));
  CHECK_FALSE(check_log_limits(10 << 20, 2, "a", "b"));
  CHECK(*check_log_limits(0, 2, "--log-max-size", "--log-max-files") ==
        "--log-max-size must be positive, not 0");
  CHECK(*check_log_limits(1024, 2, "--log-max-size", "--log-max-files") ==
        "--log-max-size must be at least 4096 bytes, not 1024");
  CHECK(*check_log_limits(4096, -1, "--log-max-size", "--log-max-files") ==
        "--log-max-files must be positive, not -1");
}

TEST_CASE("a container's limits: its own, else the daemon's; kept in its runtime options",
          "[log_limits]") {
  log_limits defaults{1 << 20, 5};
  auto own = choose_log_limits(8192, 3, defaults, "default", "web");
  REQUIRE(own);
  CHECK((own->max_size == 8192 && own->max_files == 3));
  auto dflt = choose_log_limits(0, 0, defaults, "default", "web");
  REQUIRE(dflt);
  CHECK((dflt->max_size == defaults.max_size && dflt->max_files == 5));
  auto bad = choose_log_limits(-1, 0, defaults, "default", "web");
  REQUIRE_FALSE(bad);
  CHECK_THAT(error_message(bad.error()),
             Catch::Contains("default/web") && Catch::Contains("--log-max-size must be positive"));
  auto kept = log_limits_of(with_log_limits("", *own));
  CHECK((kept.max_size == 8192 && kept.max_files == 3));
  auto none = log_limits_of("");
  CHECK((none.max_size == log_limits{}.max_size && none.max_files == log_limits{}.max_files));
}

TEST_CASE("config.toml's log_max_size and log_max_files are the daemon's defaults",
          "[log_limits]") {
  temp_dir dir;
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "config.toml") << text;
    return dir / "config.toml";
  };
  daemon_config cfg;
  CHECK(load_config_file(write("log_max_size = \"1m\"\nlog_max_files = 4\n"), cfg, true) == "");
  CHECK((cfg.task_logs.max_size == 1u << 20 && cfg.task_logs.max_files == 4));
  CHECK(to_berth_config(cfg, "/bin/true").logs.max_files == 4);
  daemon_config bytes;
  CHECK(load_config_file(write("log_max_size = 65536\n"), bytes, true) == "");
  CHECK((bytes.task_logs.max_size == 65536 && bytes.task_logs.max_files == 2));
  daemon_config bad;
  CHECK_THAT(load_config_file(write("log_max_files = 0\n"), bad, true),
             Catch::Contains("log_max_files must be positive, not 0"));
  CHECK_THAT(load_config_file(write("log_max_size = \"lots\"\n"), bad, true),
             Catch::Contains("log_max_size \"lots\""));
}
