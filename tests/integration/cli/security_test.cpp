// What a container may do to the kernel: the default seccomp profile (as
// Docker's and containerd's), its opt-outs, and the default pids limit,
// seen from inside real containers.
#include <catch2/catch.hpp>

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
