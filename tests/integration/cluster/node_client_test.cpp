// examples/client/node (Node.js with capnp-es from npm) against a real
// berthd: the second language the API is tried from. The test installs the
// npm packages into a copy of the example (the npm registry is one of this
// machine's registries), compiles the schema with capnp-es and runs the
// client: list, create, createTask with start pipelined, wait, delete.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "berth_runner.hpp"
#include "cluster_fixture.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth::test;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::string source_dir() {
  const char* d = std::getenv("BERTH_SOURCE_DIR");
  return d ? d : ".";
}

}  // namespace

TEST_CASE("the Node.js client (capnp-es) lists containers and runs one", "[cluster][example]") {
  // The example's layout (examples/client/node beside schema/), copied so
  // nothing is written into the source tree.
  temp_dir work{"berth-node-client"};
  auto node_dir = work / "examples/client/node";
  fs::create_directories(node_dir);
  fs::create_directories(work / "schema");
  for (auto f : {"package.json", "client.mjs"})
    fs::copy_file(source_dir() + "/examples/client/node/" + f, node_dir + "/" + f);
  for (auto f : {"types.capnp", "api.capnp"})
    fs::copy_file(source_dir() + "/schema/" + f, work / (std::string("schema/") + f));

  // The registry may stumble: three tries.
  std::pair<int, std::string> installed;
  for (int i = 0; i < 3; ++i) {
    installed = run_program("cd " + node_dir + " && npm install --no-audit --no-fund");
    if (installed.first == 0) break;
  }
  INFO(installed.second);
  REQUIRE(installed.first == 0);
  auto schema = run_program("cd " + node_dir + " && npm run schema");
  INFO(schema.second);
  REQUIRE(schema.first == 0);

  berthd_process daemon;
  REQUIRE(run_berth_at(daemon.address(), {"c", "create", "--rootfs", daemon.rootfs(),
                                          "local/busybox:latest", "listed", "true"})
              .exit_code == 0);
  auto id = "node-" + std::to_string(::getpid());
  auto [code, out] =
      run_program("cd " + node_dir + " && BERTH_EXAMPLE_ROOTFS=" + daemon.rootfs() +
                  " node client.mjs " + daemon.address() + " " + id + " sh -c 'exit 5'");
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Contains("1 container(s) in namespace default"));
  CHECK_THAT(out, Contains("started " + id + " (pid "));
  CHECK_THAT(out, Contains(id + " exited with status 5"));
  // It deleted what it made; the first container is still there.
  CHECK(run_berth_at(daemon.address(), {"c", "ls", "-q"}).out == "listed\n");
}
