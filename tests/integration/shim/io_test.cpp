// Standard streams through a real shim and real runc: stdin from a FIFO the
// caller writes after start, stdin from a regular file, and a terminal
// (the pty master received over the console socket) with resizePty.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "shim_checks.hpp"

using namespace berth;
using namespace berth::test;

namespace {

capnp::Response<Task::ResizePtyResults> resize_pty(shim_client& c, unsigned width, unsigned height,
                                                   const std::string& exec_id = "") {
  auto req = c.task().resizePtyRequest();
  auto r = req.initReq();
  r.setExecId(exec_id);
  r.setWidth(width);
  r.setHeight(height);
  return answer(c, req.send(), "resizePty");
}

capnp::Response<Task::CloseIoResults> close_stdin(shim_client& c) {
  auto req = c.task().closeIoRequest();
  req.initReq().setStdin(true);
  return answer(c, req.send(), "closeIo");
}

// Opens the FIFO's write end. Non-blocking first: with no reader (the shim
// let go of it) that fails with ENXIO instead of hanging the test.
int open_writer(const std::string& fifo) {
  int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

void write_all(int fd, const std::string& text) {
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

// Reads a FIFO (opened O_RDONLY|O_NONBLOCK) until `text` arrived or 10 s passed.
std::string read_until(int fd, const std::string& text) {
  std::string got;
  for (int waited = 0; got.find(text) == std::string::npos && waited < 10000; waited += 20) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      continue;
    }
    usleep(20 * 1000);
  }
  return got;
}

capnp::Response<Task::AttachResults> attach(shim_client& c, const std::string& in,
                                            const std::string& out) {
  auto req = c.task().attachRequest();
  auto stdio = req.initReq().initStdio();
  stdio.setStdin(in);
  stdio.setStdout(out);
  return answer(c, req.send(), "attach");
}

}  // namespace

TEST_CASE("a FIFO written after start reaches the container's stdin", "[shim][runc][io]") {
  test_shim s("stdin-fifo", {.args = {"cat"}});
  const std::string fifo = s.dir / "stdin.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  shim_client c(s.address);
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.in = fifo, .out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  // The shim holds the FIFO's read end since create: there is a reader.
  int fd = open_writer(fifo);
  REQUIRE(fd >= 0);
  write_all(fd, "hello\n");
  close(fd);  // EOF: cat ends

  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  CHECK(read_text(s.dir / "out.txt") == "hello\n");
  CHECK(read_text(s.args.bundle + "/task.log").find(" stdout F hello\n") != std::string::npos);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a FIFO written in pieces is read until its writer closes", "[shim][runc][io]") {
  test_shim s("stdin-pieces", {.args = {"sh", "-c", "wc -l"}});
  const std::string fifo = s.dir / "stdin.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  shim_client c(s.address);
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.in = fifo, .out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  int fd = open_writer(fifo);
  REQUIRE(fd >= 0);
  for (int i = 0; i < 3; ++i) {
    write_all(fd, "line " + std::to_string(i) + "\n");
    c.pump(50);
  }
  // Still running: the writer has not closed yet.
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  close(fd);
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  auto out = read_text(s.dir / "out.txt");
  CHECK(out.find('3') != std::string::npos);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("closeIo ends a FIFO stdin nobody ever wrote", "[shim][runc][io]") {
  test_shim s("stdin-close", {.args = {"cat"}});
  const std::string fifo = s.dir / "stdin.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  shim_client c(s.address);
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.in = fifo, .out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  REQUIRE_OK(close_stdin(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  CHECK(read_text(s.dir / "out.txt").empty());
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a regular file is the container's stdin as it is", "[shim][runc][io]") {
  test_shim s("stdin-file", {.args = {"cat"}});
  const std::string input = s.dir / "input.txt";
  {
    std::ofstream f(input);
    f << "first\nsecond\n";
  }
  shim_client c(s.address);
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.in = input, .out = s.dir / "out.txt"}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  CHECK(read_text(s.dir / "out.txt") == "first\nsecond\n");
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("stdout and stderr may be FIFOs the caller reads", "[shim][runc][io]") {
  test_shim s("out-fifo", {.args = {"sh", "-c", "echo to-out; echo to-err >&2"}});
  const std::string out = s.dir / "out.fifo", err = s.dir / "err.fifo";
  REQUIRE(mkfifo(out.c_str(), 0600) == 0);
  REQUIRE(mkfifo(err.c_str(), 0600) == 0);
  // Open the read ends first, non-blocking, as a daemon would.
  int out_fd = open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  int err_fd = open(err.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(out_fd >= 0);
  REQUIRE(err_fd >= 0);
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = out, .err = err}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  auto drain = [](int fd) {
    std::string text;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  };
  CHECK(drain(out_fd) == "to-out\n");
  CHECK(drain(err_fd) == "to-err\n");
  close(out_fd);
  close(err_fd);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a terminal task gets a pty, its output, and resizePty", "[shim][runc][io]") {
  test_shim s("tty", {.args = {"sh", "-c", "tty; echo hi; sleep 30"}, .terminal = true});
  shim_client c(s.address);
  const std::string out = s.dir / "out.txt";
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = out, .terminal = true}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK(rpc::state(c).getResp().getStdio().getTerminal());

  INFO(read_text(out));
  REQUIRE(eventually([&] { return read_text(out).find("hi") != std::string::npos; }));
  CHECK(read_text(out).find("/dev/pts/") != std::string::npos);
  REQUIRE_OK(resize_pty(c, 120, 40).getResp());

  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 137);
  // The terminal's output goes to the task log too.
  CHECK(read_text(s.args.bundle + "/task.log").find("hi") != std::string::npos);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("a terminal task that exits on its own reports its status", "[shim][runc][io]") {
  test_shim s("tty-exit", {.args = {"sh", "-c", "tty; echo bye; exit 6"}, .terminal = true});
  shim_client c(s.address);
  const std::string out = s.dir / "out.txt";
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle, {.out = out, .terminal = true}).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 6);
  auto text = read_text(out);
  INFO(text);
  CHECK(text.find("/dev/pts/") != std::string::npos);
  CHECK(text.find("bye") != std::string::npos);
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("resizePty refuses a task without a terminal", "[shim][runc][io]") {
  test_shim s("no-tty", {.args = {"sleep", "30"}});
  shim_client c(s.address);
  REQUIRE_OK(rpc::create(c, s.args.id, s.args.bundle).getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK_ERROR(resize_pty(c, 80, 24).getResp(), FAILED_PRECONDITION,
              "cannot resize the terminal of task no-tty: it has no terminal");
  CHECK_ERROR(resize_pty(c, 80, 24, "nope").getResp(), NOT_FOUND, "nope");
  // The shim goes on serving the same connection.
  CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  REQUIRE_OK(rpc::kill(c, SIGKILL).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("create refuses a terminal request that config.json does not match", "[shim][runc][io]") {
  test_shim s("tty-mismatch", {.args = {"sh"}});
  shim_client c(s.address);
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle, {.terminal = true}).getResp(),
              INVALID_ARGUMENT, "config.json has process.terminal=false");
  CHECK_ERROR(rpc::create(c, s.args.id, s.args.bundle, {.out = "relative/out"}).getResp(),
              INVALID_ARGUMENT, "must be absolute");
  CHECK_ERROR(rpc::state(c).getResp(), NOT_FOUND, "task tty-mismatch was not created");
}

TEST_CASE("attach moves output to new FIFOs and feeds an open stdin; its EOF only detaches",
          "[shim][runc][io]") {
  test_shim s("attach", {.args = {"sh", "-c", "while read l; do echo got $l; done; echo bye"}});
  shim_client c(s.address);
  // Detached, as `berth t start -d`: no stdin path, but a stdin kept open.
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.out = s.dir / "out.txt", .open_stdin = true})
          .getResp());
  REQUIRE_OK(rpc::start(c).getResp());

  // Two clients in turn, each with its own FIFOs.
  for (std::string round : {"one", "two"}) {
    const std::string in = s.dir / ("in-" + round), out = s.dir / ("out-" + round);
    REQUIRE(mkfifo(in.c_str(), 0600) == 0);
    REQUIRE(mkfifo(out.c_str(), 0600) == 0);
    int reader = open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(reader >= 0);
    auto attached = attach(c, in, out);
    REQUIRE_OK(attached.getResp());
    CHECK(attached.getResp().getStdinOpen());
    int writer = open_writer(in);
    REQUIRE(writer >= 0);
    write_all(writer, round + "\n");
    close(writer);  // this client leaves: the process must not see EOF
    CHECK(read_until(reader, "got " + round + "\n") == "got " + round + "\n");
    close(reader);
    c.pump(100);
    CHECK(rpc::state(c).getResp().getStatus() == wire::TaskStatus::RUNNING);
  }

  // closeIo ends the input: the loop ends and the process exits.
  REQUIRE_OK(close_stdin(c).getResp());
  auto waited = rpc::wait(c);
  REQUIRE_OK(waited.getResp());
  CHECK(waited.getResp().getStatus().getCode() == 0);
  // Nothing went to the first destination once attach took over; the log has it all.
  CHECK(read_text(s.dir / "out.txt").empty());
  auto log = read_text(s.args.bundle + "/task.log");
  CHECK(log.find(" stdout F got one\n") != std::string::npos);
  CHECK(log.find(" stdout F bye\n") != std::string::npos);

  CHECK_ERROR(attach(c, "", s.dir / "late").getResp(), FAILED_PRECONDITION, "stopped");
  REQUIRE_OK(rpc::remove(c).getResp());
}

TEST_CASE("attach refuses a relative path and changes nothing", "[shim][runc][io]") {
  test_shim s("attach-bad", {.args = {"sh", "-c", "read l; echo got $l"}});
  shim_client c(s.address);
  REQUIRE_OK(
      rpc::create(c, s.args.id, s.args.bundle, {.out = s.dir / "out.txt", .open_stdin = true})
          .getResp());
  REQUIRE_OK(rpc::start(c).getResp());
  CHECK_ERROR(attach(c, "", "relative/out").getResp(), INVALID_ARGUMENT,
              "invalid stdout path \"relative/out\": must be absolute");
  CHECK_ERROR(attach(c, s.dir / "missing-fifo", "").getResp(), INVALID_ARGUMENT, "must be a FIFO");
  // The first wiring still works: closeIo ends `read`, the output lands in out.txt.
  REQUIRE_OK(close_stdin(c).getResp());
  REQUIRE_OK(rpc::wait(c).getResp());
  CHECK(read_text(s.dir / "out.txt") == "got\n");
  REQUIRE_OK(rpc::remove(c).getResp());
}
