// task_log alone, in a temp dir: records in the CRI format, rotation at the
// size limit, the number of files kept, and a line in progress carried into
// the next file without losing a byte.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shim/core/task_log.hpp"
#include "tests/support/busybox_bundle.hpp"

using berth::log_limits;
using berth::shim::task_log;
using berth::test::temp_dir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct record {
  std::string stream, tag, text;
};

std::vector<record> records_of(const std::string& text) {
  std::vector<record> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto s1 = line.find(' '), s2 = line.find(' ', s1 + 1), s3 = line.find(' ', s2 + 1);
    REQUIRE(s3 != std::string::npos);
    out.push_back(
        {line.substr(s1 + 1, s2 - s1 - 1), line.substr(s2 + 1, s3 - s2 - 1), line.substr(s3 + 1)});
  }
  return out;
}

// What the files say the container wrote, oldest file first: P records
// joined to the F record that ends them.
std::string replay(const std::string& path, std::uint32_t files) {
  std::string all;
  for (std::uint32_t n = files; n >= 1; --n) all += slurp(task_log::rotated_name(path, n));
  all += slurp(path);
  std::string text;
  for (auto& r : records_of(all)) text += r.text + (r.tag == "F" ? "\n" : "");
  return text;
}

std::uint64_t size_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

TEST_CASE("task_log writes CRI records, full and partial, with mode 0600", "[task_log]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  {
    task_log log(path, {});
    log.write("stdout", "one\ntw");
    log.write("stderr", "o\n");
  }
  auto rs = records_of(slurp(path));
  REQUIRE(rs.size() == 3);
  CHECK((rs[0].stream == "stdout" && rs[0].tag == "F" && rs[0].text == "one"));
  CHECK((rs[1].stream == "stdout" && rs[1].tag == "P" && rs[1].text == "tw"));
  CHECK((rs[2].stream == "stderr" && rs[2].tag == "F" && rs[2].text == "o"));
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("task_log rotates before a file passes max_size and keeps max_files files",
          "[task_log]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  const log_limits limits{4096, 3};
  std::string last;
  {
    task_log log(path, limits);
    for (int i = 0; i < 2000; ++i) {
      last = "line " + std::to_string(i) + "\n";
      log.write("stdout", last);
    }
  }
  CHECK(std::filesystem::exists(path));
  CHECK(std::filesystem::exists(task_log::rotated_name(path, 1)));
  CHECK(std::filesystem::exists(task_log::rotated_name(path, 2)));
  CHECK_FALSE(std::filesystem::exists(task_log::rotated_name(path, 3)));
  for (auto p : {path, task_log::rotated_name(path, 1), task_log::rotated_name(path, 2)})
    CHECK(size_of(p) <= limits.max_size);
  // The newest line is at the end of the current file, and the three files
  // hold an unbroken run of the newest lines.
  std::string text = replay(path, 2);
  CHECK(text.size() >= last.size());
  CHECK(text.substr(text.size() - last.size()) == last);
  std::istringstream in(text);
  std::string line;
  int expect = -1;
  while (std::getline(in, line)) {
    int n = std::stoi(line.substr(5));
    if (expect >= 0) CHECK(n == expect);
    expect = n + 1;
  }
  CHECK(expect == 2000);
}

TEST_CASE("task_log carries a line in progress into the next file", "[task_log]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  const log_limits limits{4096, 2};
  std::string written;
  {
    task_log log(path, limits);
    // Chunks that cut lines anywhere, as a pipe read does.
    std::string stream;
    for (int i = 0; i < 60; ++i) stream += std::string(50, static_cast<char>('a' + i % 26)) + "\n";
    for (std::size_t at = 0; at < stream.size(); at += 77) {
      auto piece = stream.substr(at, 77);
      log.write("stdout", piece);
      written += piece;
    }
  }
  CHECK(std::filesystem::exists(task_log::rotated_name(path, 1)));
  std::string text = replay(path, 1);
  // Whatever survived is exactly the end of what was written.
  REQUIRE(text.size() <= written.size());
  CHECK(written.substr(written.size() - text.size()) == text);
  CHECK(size_of(path) + size_of(task_log::rotated_name(path, 1)) <= 2 * limits.max_size);
}

TEST_CASE("task_log cuts a line longer than a whole file into partial records", "[task_log]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  const log_limits limits{4096, 2};
  std::string huge(10000, 'x');
  {
    task_log log(path, limits);
    log.write("stdout", huge + "\nend\n");
  }
  for (auto p : {path, task_log::rotated_name(path, 1)}) CHECK(size_of(p) <= limits.max_size);
  CHECK_FALSE(std::filesystem::exists(task_log::rotated_name(path, 2)));
  auto rs = records_of(slurp(path));
  REQUIRE_FALSE(rs.empty());
  CHECK(rs.back().text == "end");
  CHECK(rs.back().tag == "F");
}

TEST_CASE("task_log with one file starts it again at the limit", "[task_log]") {
  temp_dir dir;
  std::string path = dir / "task.log";
  {
    task_log log(path, {4096, 1});
    for (int i = 0; i < 1000; ++i) log.write("stdout", "line " + std::to_string(i) + "\n");
  }
  CHECK(size_of(path) <= 4096);
  CHECK_FALSE(std::filesystem::exists(task_log::rotated_name(path, 1)));
  auto rs = records_of(slurp(path));
  REQUIRE_FALSE(rs.empty());
  CHECK(rs.back().text == "line 999");
}
