// Bad usage through the real binary: exit 2 with the problem and the
// verb's usage on stderr; an unreachable daemon: exit 1 and why. No daemon
// is needed for these.
#include <catch2/catch.hpp>

#include "berth_runner.hpp"

using namespace berth::test;
using Catch::Contains;
using Catch::StartsWith;

namespace {

berth_result offline(std::vector<std::string> args) {
  return run_berth_at("unix:/nonexistent/berth.sock", std::move(args));
}

}  // namespace

TEST_CASE("an unknown flag prints usage and exits 2", "[cli][usage]") {
  auto r = offline({"c", "ls", "--bogus"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, StartsWith("berth: "));
  CHECK_THAT(r.err, Contains("--bogus"));
  CHECK_THAT(r.err, Contains("Usage:"));
  CHECK(r.out.empty());
}

TEST_CASE("no verb, an unknown verb, a missing argument: exit 2", "[cli][usage]") {
  CHECK(offline({}).exit_code == 2);
  CHECK(offline({"frobnicate"}).exit_code == 2);
  auto r = offline({"c", "create", "img"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("ID"));
  auto e = offline({"t", "exec", "web", "sh"});
  CHECK(e.exit_code == 2);
  CHECK_THAT(e.err, Contains("--exec-id"));
}

TEST_CASE("malformed --env, --label and --mount are usage errors naming the value",
          "[cli][usage]") {
  auto env = offline({"run", "--env", "FOO", "img", "web"});
  CHECK(env.exit_code == 2);
  CHECK_THAT(env.err, StartsWith("berth: --env: invalid --env \"FOO\": expected KEY=VALUE"));

  auto label = offline({"c", "create", "--label", "=x", "img", "web"});
  CHECK(label.exit_code == 2);
  CHECK_THAT(label.err, Contains("invalid --label \"=x\": the key is empty"));

  auto mount = offline({"c", "create", "--mount", "type=bind,src=/tmp", "img", "web"});
  CHECK(mount.exit_code == 2);
  CHECK_THAT(mount.err, Contains("invalid mount \"type=bind,src=/tmp\": dst is missing"));

  auto relative = offline({"run", "--mount", "src=data,dst=/data", "img", "web"});
  CHECK(relative.exit_code == 2);
  CHECK_THAT(relative.err, Contains("src must be an absolute path"));
}

TEST_CASE("an unknown signal name is a usage error", "[cli][usage]") {
  auto r = offline({"t", "kill", "-s", "SIGFOO", "web"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, StartsWith("berth: --signal: unknown signal \"SIGFOO\""));
}

TEST_CASE("other bad values: --format, --timeout, --rm with -d, --rootfs", "[cli][usage]") {
  CHECK(offline({"c", "ls", "--format", "yaml"}).exit_code == 2);
  CHECK(offline({"--timeout", "soon", "c", "ls"}).exit_code == 2);
  CHECK(offline({"run", "--rm", "-d", "img", "web"}).exit_code == 2);
  auto r = offline({"run", "--rootfs", "/nonexistent/rootfs", "img", "web"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("/nonexistent/rootfs"));
}

TEST_CASE("help exits 0 on stdout", "[cli][usage]") {
  auto r = offline({"run", "--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("--memory-limit"));
}

TEST_CASE("an unreachable daemon: exit 1 and why", "[cli][usage]") {
  auto r = offline({"c", "ls"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, StartsWith("berth: connect to berthd at unix:/nonexistent/berth.sock: "));
  CHECK_THAT(r.err, Contains("is berthd running?"));

  auto v = offline({"version"});
  CHECK(v.exit_code == 1);
  CHECK_THAT(v.out, Contains("Client:"));  // the client half still prints
}

TEST_CASE("--version needs no daemon", "[cli][usage]") {
  auto r = offline({"--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("Version:"));
}
