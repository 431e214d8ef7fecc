// What a container may do to the kernel: the default seccomp profile (as
// Docker's and containerd's), its opt-outs, the default pids limit, and the
// capabilities and host devices a container is given (--cap-add,
// --cap-drop, --device), seen from inside real containers.
#include <catch2/catch.hpp>

#include <cstdint>
#include <regex>
#include <string>

#include "cli_fixture.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

berth_result run(std::vector<std::string> flags, std::vector<std::string> command) {
  std::vector<std::string> args = {"run", "--rm"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--rootfs", rootfs(), kImage, unique_id("sec")});
  args.insert(args.end(), command.begin(), command.end());
  return b(args);
}

const std::vector<std::string> kSeccompMode = {"sh", "-c", "grep Seccomp: /proc/self/status"};

// The effective capabilities of a container's process, from its
// /proc/self/status ("CapEff:\t00000000a80425fb").
std::uint64_t effective_capabilities(std::vector<std::string> flags) {
  auto r = run(std::move(flags), {"sh", "-c", "grep CapEff: /proc/self/status"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.rfind("CapEff:\t", 0) == 0);
  return std::stoull(r.out.substr(8), nullptr, 16);
}

constexpr std::uint64_t bit(int capability) {
  return std::uint64_t{1} << capability;
}
constexpr int kChown = 0, kNetBindService = 10, kSysAdmin = 21;

// A refused `run`: it names `what`, and left no container behind.
void refused_without_trace(std::vector<std::string> flags, const std::string& what) {
  auto id = unique_id("refused");
  std::vector<std::string> args = {"run", "--rm"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--rootfs", rootfs(), kImage, id, "true"});
  auto r = b(args);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains(what));
  auto ls = b({"c", "ls", "-q"});
  CHECK(ls.exit_code == 0);
  CHECK(ls.out.find(id) == std::string::npos);
}

}  // namespace

TEST_CASE("seccomp: the default profile filters every container", "[cli][security]") {
  auto r = run({}, kSeccompMode);
  CHECK(r.err == "");
  CHECK(r.out == "Seccomp:\t2\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("seccomp: --security-opt seccomp=unconfined and --privileged run without a filter",
          "[cli][security]") {
  auto unconfined = run({"--security-opt", "seccomp=unconfined"}, kSeccompMode);
  CHECK(unconfined.out == "Seccomp:\t0\n");
  CHECK(unconfined.exit_code == 0);
  auto privileged = run({"--privileged"}, kSeccompMode);
  CHECK(privileged.out == "Seccomp:\t0\n");
  CHECK(privileged.exit_code == 0);
}

TEST_CASE("seccomp: a system call the default profile denies fails with EPERM", "[cli][security]") {
  // unshare(CLONE_NEWUSER) needs no capability, so only the filter refuses
  // it; without the filter the same command succeeds.
  auto denied = run({}, {"busybox", "unshare", "-U", "true"});
  CHECK_THAT(denied.err, Contains("Operation not permitted"));
  CHECK(denied.exit_code != 0);
  auto allowed =
      run({"--security-opt", "seccomp=unconfined"}, {"busybox", "unshare", "-U", "true"});
  CHECK(allowed.err == "");
  CHECK(allowed.exit_code == 0);
  // Ordinary work under the filter: processes, files, pipes, signals.
  auto ordinary = run({}, {"sh", "-c",
                           "seq 3 | wc -l; mkdir /tmp/d && echo ok > /tmp/d/f && "
                           "cat /tmp/d/f; sleep 0.1 & wait"});
  CHECK(ordinary.err == "");
  CHECK(ordinary.out == "3\nok\n");
  CHECK(ordinary.exit_code == 0);
}

TEST_CASE("seccomp: an unknown profile is refused by name", "[cli][security]") {
  auto r = run({"--security-opt", "seccomp=/etc/profile.json"}, {"true"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("seccomp=/etc/profile.json"));
}

TEST_CASE("pids: a default limit, --pids-limit N, and -1 for none", "[cli][security]") {
  const std::vector<std::string> show = {"cat", "/sys/fs/cgroup/pids/pids.max"};
  CHECK(run({}, show).out == "2048\n");
  CHECK(run({"--pids-limit", "10"}, show).out == "10\n");
  CHECK(run({"--pids-limit", "-1"}, show).out == "max\n");
  // The limit holds: the eleventh process cannot start.
  auto r = run({"--pids-limit", "10"},
               {"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done; wait"});
  CHECK_THAT(r.err, Contains("can't fork"));
}

TEST_CASE("capabilities: --cap-drop and --cap-add change the default set", "[cli][security]") {
  auto defaults = effective_capabilities({});
  CHECK(defaults & bit(kChown));
  CHECK_FALSE(defaults & bit(kSysAdmin));

  CHECK(effective_capabilities({"--cap-drop", "ALL"}) == 0);
  CHECK(run({"--cap-drop", "ALL"}, {"sh", "-c", "grep CapEff: /proc/self/status"}).out ==
        "CapEff:\t0000000000000000\n");
  CHECK(effective_capabilities({"--cap-drop", "all", "--cap-add", "net_bind_service"}) ==
        bit(kNetBindService));
  CHECK(effective_capabilities({"--cap-add", "SYS_ADMIN"}) == (defaults | bit(kSysAdmin)));
  CHECK(effective_capabilities({"--cap-drop", "CAP_CHOWN"}) == (defaults & ~bit(kChown)));
  // ALL: what --privileged gives, yet still under the seccomp filter.
  CHECK(effective_capabilities({"--cap-add", "ALL"}) == effective_capabilities({"--privileged"}));
  CHECK(run({"--cap-add", "ALL"}, kSeccompMode).out == "Seccomp:\t2\n");
}

TEST_CASE("capabilities: a dropped capability is missing inside", "[cli][security]") {
  // chown needs CAP_CHOWN even for root. The file is the run's own (the
  // --rootfs directory is shared by every test here) and goes again.
  const std::vector<std::string> chown = {
      "sh", "-c", "f=/tmp/chown.$$; touch $f && chown 1:1 $f; rc=$?; rm -f $f; exit $rc"};
  auto allowed = run({}, chown);
  CHECK(allowed.err == "");
  CHECK(allowed.exit_code == 0);
  auto refused = run({"--cap-drop", "CHOWN"}, chown);
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Contains("Operation not permitted"));
}

TEST_CASE("capabilities: an unknown name is refused by name, and nothing is made",
          "[cli][security]") {
  refused_without_trace({"--cap-add", "BOGUS"},
                        "invalid --cap-add \"BOGUS\": not a Linux capability");
  refused_without_trace({"--cap-drop", "CAP_BOGUS"},
                        "invalid --cap-drop \"CAP_BOGUS\": not a Linux capability");
}

TEST_CASE("devices: --device makes a host device inside, with its cgroup rule", "[cli][security]") {
  auto r = run({"--device", "/dev/null:/dev/mynull"},
               {"sh", "-c", "echo x > /dev/mynull && ls -l /dev/mynull"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("c", 0) == 0);
  CHECK(std::regex_search(r.out, std::regex(R"(\b1,\s+3\b)")));
  CHECK(r.out.find("/dev/mynull") != std::string::npos);

  // A device outside runc's default allow-list opens only as --device
  // allows it: /dev/loop-control read-only (opening it changes nothing).
  // Subshells, since a failed redirection of `:` ends sh itself.
  auto lc = run({"--device", "/dev/loop-control:/dev/lc:r"},
                {"sh", "-c",
                 "(: < /dev/lc) && echo read-ok; ls -l /dev/lc | cut -c1; (: > /dev/lc) || echo "
                 "write-refused"});
  CHECK(lc.out == "read-ok\nc\nwrite-refused\n");
  CHECK_THAT(lc.err, Contains("can't create /dev/lc: Operation not permitted"));
  auto none = run({}, {"sh", "-c", "test -e /dev/lc || echo absent"});
  CHECK(none.out == "absent\n");
}

TEST_CASE("devices: a path that is not a device is refused by name, and nothing is made",
          "[cli][security]") {
  refused_without_trace({"--device", "/etc/passwd"},
                        "invalid device \"/etc/passwd\" for container default/");
  refused_without_trace({"--device", "/etc/passwd"},
                        "must be a character or block device on the host; it is a regular file");
  refused_without_trace({"--device", "/nonexistent"},
                        "invalid device \"/nonexistent\" for container default/");
  refused_without_trace({"--device", "/nonexistent"}, "no such device on the host");
  refused_without_trace({"--device", "/dev"}, "it is a directory");
  refused_without_trace({"--device", "/dev/null:dev/x"},
                        "invalid --device \"/dev/null:dev/x\": container path \"dev/x\"");
}

TEST_CASE("capabilities: a process exec'd into a container holds the container's set",
          "[cli][security]") {
  // berth t exec sends the container's own process with new args; the shim
  // keeps any exec within the container's bounding set (exec_process.cpp).
  auto exec_caps = [](std::vector<std::string> flags) -> std::string {
    auto id = unique_id("exec");
    std::vector<std::string> args = {"c", "create"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--rootfs", rootfs(), kImage, id, "sleep", "1000"});
    REQUIRE(b(args).exit_code == 0);
    REQUIRE(b({"t", "start", "-d", id}).exit_code == 0);
    auto exec = b({"t", "exec", "--exec-id", "caps", id, "grep", "CapEff:", "/proc/self/status"});
    CHECK(exec.err == "");
    CHECK(b({"t", "kill", "-s", "KILL", id}).exit_code == 0);
    b({"t", "wait", id});
    CHECK(b({"t", "rm", id}).exit_code == 0);
    CHECK(b({"c", "rm", id}).exit_code == 0);
    return exec.out;
  };
  CHECK(exec_caps({"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"}) ==
        "CapEff:\t0000000000000400\n");
  auto with_admin = exec_caps({"--cap-add", "SYS_ADMIN"});
  REQUIRE(with_admin.rfind("CapEff:\t", 0) == 0);
  CHECK(std::stoull(with_admin.substr(8), nullptr, 16) & bit(kSysAdmin));
}
