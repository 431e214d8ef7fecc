// A client never holds its container back: a FIFO reader that stops reading,
// or that goes away (a `berth run` killed with -9), costs the container
// nothing. Its output goes on reaching the task log, and it stays running
// and killable. Real shim, real runc.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

// About 1.3 MB/s in bursts of 64 KB, each more than a FIFO holds: enough to
// fill any pipe quickly, little enough for the log to stay small.
const std::vector<std::string> kChatty = {
    "sh", "-c",
    "i=0; while true; do i=$((i+1)); echo burst-$i; "
    "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -n 1000; "
    "sleep 0.05; done"};

off_t size_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// The task log grows by `bytes` within the deadline (20 s: four times the
// shim's stall limit, so a loaded machine cannot fail it).
bool log_grows(const std::string& log, off_t bytes) {
  off_t from = size_of(log);
  return eventually([&] { return size_of(log) >= from + bytes; }, 20000);
}

void kill_and_reap(shim_client& c) {
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  REQUIRE_OK(rpc::remove(c).getResp());
}

}  // namespace

TEST_CASE("a stdout reader that never reads does not block the container",
          "[shim][runc][io][clients]") {
  test_shim s("stalled-reader", {.args = kChatty});
  const std::string out = s.dir / "out.fifo";
  REQUIRE(mkfifo(out.c_str(), 0600) == 0);
  int reader = open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);  // alive all along, never read
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = out}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  // Far more than the FIFO and the container's pipe hold together (128 KiB):
  // the container went on writing although its client took nothing.
  const std::string log = s.args.bundle + "/task.log";
  CHECK(log_grows(log, 4 * 1024 * 1024));
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  close(reader);
  kill_and_reap(c);
}

TEST_CASE("a stdout reader that goes away does not block the container",
          "[shim][runc][io][clients]") {
  test_shim s("gone-reader", {.args = kChatty});
  const std::string out = s.dir / "out.fifo";
  REQUIRE(mkfifo(out.c_str(), 0600) == 0);
  int reader = open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = out}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  // The client reads for a while, as an attached `berth run` does...
  std::string got;
  REQUIRE(eventually(
      [&] {
        char buf[4096];
        ssize_t n;
        while ((n = read(reader, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
        return got.find("burst-2\n") != std::string::npos;
      },
      20000));
  // ...and is killed: nobody reads the FIFO any more.
  close(reader);

  const std::string log = s.args.bundle + "/task.log";
  CHECK(log_grows(log, 4 * 1024 * 1024));
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  kill_and_reap(c);
  // Everything the container wrote is in the log, the bursts after the client left included.
  auto text = read_text(log);
  CHECK(text.find(" stdout F burst-20\n") != std::string::npos);
}
