// client_output alone, on a FIFO in a temp dir (no root, no container): a
// reader that takes nothing or goes away makes writes fail instead of wait,
// and a reader that reads gets every byte.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <kj/async-io.h>

#include "shim/core/client_output.hpp"
#include "tests/support/busybox_bundle.hpp"

using berth::shim::open_client_output;
using berth::test::temp_dir;

namespace {

constexpr kj::Duration kStall = 200 * kj::MILLISECONDS;

std::string make_fifo(const temp_dir& dir) {
  std::string path = dir / "out.fifo";
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  return path;
}

// Writes 4 KiB chunks until one fails; how many bytes went through.
size_t write_until_failure(kj::AsyncIoContext& io, kj::AsyncOutputStream& out,
                           std::string& failure) {
  std::string chunk(4096, 'x');
  size_t written = 0;
  for (int i = 0; i < 1000; ++i) {
    auto done = out.write(chunk.data(), chunk.size())
                    .then([]() { return std::string(); },
                          [](kj::Exception&& e) { return std::string(e.getDescription().cStr()); })
                    .wait(io.waitScope);
    if (!done.empty()) {
      failure = done;
      return written;
    }
    written += chunk.size();
  }
  return written;
}

}  // namespace

TEST_CASE("client_output: a FIFO reader that takes nothing is given up after the stall limit",
          "[unit][shim][io]") {
  temp_dir dir("berth-client-output");
  auto path = make_fifo(dir);
  int reader = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  auto io = kj::setupAsyncIo();
  auto out = open_client_output(*io.lowLevelProvider, "stdout", path, kStall);
  std::string failure;
  auto start = io.provider->getTimer().now();
  size_t written = write_until_failure(io, *out, failure);
  auto waited = io.provider->getTimer().now() - start;
  // What the FIFO holds went in; the write after that gave up, in time.
  CHECK(written >= 4096);
  CHECK(written <= 1024 * 1024);
  CHECK_THAT(failure, Catch::Contains("the reader took nothing"));
  CHECK(waited >= kStall);
  CHECK(waited < 10 * kj::SECONDS);
  close(reader);
}

TEST_CASE("client_output: a FIFO whose reader went away fails at once", "[unit][shim][io]") {
  temp_dir dir("berth-client-output");
  auto path = make_fifo(dir);
  int reader = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  auto io = kj::setupAsyncIo();
  signal(SIGPIPE, SIG_IGN);  // as berth-shim does: EPIPE, not death
  // A stall limit no test waits for: only EPIPE can end the writes in time.
  auto out = open_client_output(*io.lowLevelProvider, "stdout", path, 1000 * kj::SECONDS);
  close(reader);  // the client was killed
  std::string failure;
  CHECK(write_until_failure(io, *out, failure) == 0);
  CHECK_FALSE(failure.empty());
}

TEST_CASE("client_output: a reader that reads gets every byte", "[unit][shim][io]") {
  temp_dir dir("berth-client-output");
  auto path = make_fifo(dir);
  int reader = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  auto io = kj::setupAsyncIo();
  auto out = open_client_output(*io.lowLevelProvider, "stdout", path, kStall);
  std::string text = "hello\n";
  out->write(text.data(), text.size()).wait(io.waitScope);
  char buf[64];
  CHECK(read(reader, buf, sizeof buf) == static_cast<ssize_t>(text.size()));
  close(reader);
}

TEST_CASE("client_output: a FIFO nobody reads yet holds the output for its reader",
          "[unit][shim][io]") {
  temp_dir dir("berth-client-output");
  auto path = make_fifo(dir);
  auto io = kj::setupAsyncIo();
  auto out = open_client_output(*io.lowLevelProvider, "stdout", path, kStall);
  std::string text = "early\n";
  out->write(text.data(), text.size()).wait(io.waitScope);
  int reader = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  char buf[64];
  CHECK(read(reader, buf, sizeof buf) == static_cast<ssize_t>(text.size()));
  close(reader);
}

TEST_CASE("client_output: a regular file is appended to; a bad path names the stream",
          "[unit][shim][io]") {
  temp_dir dir("berth-client-output");
  auto io = kj::setupAsyncIo();
  auto out = open_client_output(*io.lowLevelProvider, "stderr", dir / "err.txt");
  std::string text = "line\n";
  out->write(text.data(), text.size()).wait(io.waitScope);
  struct stat st {};
  REQUIRE(stat((dir / "err.txt").c_str(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(text.size()));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS_WITH(open_client_output(*io.lowLevelProvider, "stdout", dir / "no/such/file"),
                    Catch::Contains("cannot open stdout " + (dir / "no/such/file")));
}
