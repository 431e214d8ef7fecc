// What a person sees when a request is bad or berthd does not answer: a
// clear message and exit code 1, at once or at the call's deadline, never a
// hang. Real berth, real berthd.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "cli_fixture.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth::test;
using Catch::Contains;

namespace {

// A unix socket that accepts connections (the kernel's backlog does) and
// never answers: a berthd that hangs.
class silent_socket {
 public:
  silent_socket() {
    path_ = dir_ / "silent.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
  }
  ~silent_socket() { ::close(fd_); }
  std::string address() const { return "unix:" + path_; }

 private:
  temp_dir dir_{"berth-silent"};
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("c create with an env entry that is not UTF-8 fails at once, naming the field",
          "[cli][bad-input]") {
  auto id = unique_id("badutf8");
  auto args = create_args(id, {"true"});
  args.insert(args.begin() + 2, {"--env", "X=\377"});
  berth_call call(args, daemon().address());
  call.deadline = std::chrono::seconds(20);
  auto started = std::chrono::steady_clock::now();
  auto r = run_berth(call);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "berth: create container " + id +
                     ": invalid argument: createContainer options.process.env[0]: not valid "
                     "UTF-8 (byte 0xff at offset 2)\n");
  CHECK(took < std::chrono::seconds(5));

  // berthd is still serving, for this client and every other.
  auto ok = unique_id("after");
  REQUIRE(b(create_args(ok, {"true"})).exit_code == 0);
  auto ls = b({"c", "ls", "-q"});
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, Contains(ok + "\n"));
  CHECK(ls.out.find(id) == std::string::npos);  // nothing half-created
  CHECK(b({"c", "rm", ok}).exit_code == 0);
  CHECK_THAT(daemon().log(), !Contains("unhandled exception"));
}

TEST_CASE("a quick call to a berthd that never answers ends at its deadline", "[cli][deadline]") {
  silent_socket silent;
  SECTION("--timeout sets the deadline") {
    berth_call call({"--timeout", "1s", "c", "ls"}, silent.address());
    call.deadline = std::chrono::seconds(20);
    auto r = run_berth(call);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "berth: list containers: no answer from berthd within 1s (deadline exceeded)\n");
  }
  SECTION("without --timeout, quick calls have a default deadline of 30 s") {
    berth_call call({"c", "ls"}, silent.address());
    call.deadline = std::chrono::seconds(90);
    auto started = std::chrono::steady_clock::now();
    auto r = run_berth(call);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          "berth: list containers: no answer from berthd within 30s (deadline exceeded; --timeout "
          "changes it)\n");
    CHECK(took >= std::chrono::seconds(29));
  }
}
