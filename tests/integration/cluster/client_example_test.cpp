// examples/client against a real berthd: it lists the containers, runs one
// (createTask and start pipelined), prints its exit status and cleans up.
// Kept running by ctest so the example cannot silently rot.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "berth_runner.hpp"
#include "cluster_fixture.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth::test;
using Catch::Contains;

namespace {

std::string example_binary() {
  const char* d = std::getenv("BERTH_BUILD_DIR");
  return std::string(d ? d : ".") + "/examples/client/berth-client-example";
}

}  // namespace

TEST_CASE("the C++ client example lists containers and runs one", "[cluster][example]") {
  berthd_process daemon;
  auto id = "example-" + std::to_string(::getpid());
  // One container already there, so the listing has something to show.
  REQUIRE(run_berth_at(daemon.address(), {"c", "create", "--rootfs", daemon.rootfs(),
                                          "local/busybox:latest", "listed", "true"})
              .exit_code == 0);

  auto [code, out] = run_program(example_binary() + " --address " + daemon.address() +
                                 " --rootfs " + daemon.rootfs() + " --image local/busybox:latest " +
                                 id + " sh -c 'echo from the example; exit 7'");
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Contains("1 container(s) in namespace default\n  listed  "));
  CHECK_THAT(out, Contains("started " + id + " (pid "));
  CHECK_THAT(out, Contains(id + " exited with status 7\n"));

  // It deleted its task and container; the output went to the task's log
  // while it lived, and the first container is still there.
  auto ls = run_berth_at(daemon.address(), {"c", "ls", "-q"});
  CHECK(ls.out == "listed\n");

  auto bad = run_program(example_binary() + " --address " + daemon.address() +
                         " --image local/busybox:latest no-such/../id true");
  CHECK(bad.first == 1);
  CHECK_THAT(bad.second, Contains("create container no-such/../id: "));
}
