// The command line as berth parses it, without a daemon: what is accepted,
// what becomes a usage error (exit 2) and with which message, and what a
// create request carries.
#include <capnp/message.h>

#include <catch2/catch.hpp>

#include "cli/command_line.hpp"
#include "cli/create_options.hpp"

using namespace berth;
using namespace berth::cli;

namespace {

struct parsed {
  bool ok = false;
  std::string error;  // CLI11's message when !ok
  verb_action chosen;
  global_options globals;
};

parsed parse(std::vector<std::string> args) {
  parsed out;
  CLI::App app;
  build_command_line(app, out.globals, out.chosen);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
  try {
    app.parse(args);
    out.ok = true;
  } catch (const CLI::ParseError& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace

TEST_CASE("every verb group and alias parses", "[cli][command-line]") {
  for (auto args : std::vector<std::vector<std::string>>{
           {"c", "ls"},
           {"containers", "list", "-q"},
           {"c", "info", "web"},
           {"c", "rm", "a", "b"},
           {"c", "label", "web", "a=b", "c="},
           {"t", "ls", "--format", "json"},
           {"tasks", "start", "-d", "web"},
           {"t", "ps", "web"},
           {"t", "kill", "-s", "KILL", "--all", "web"},
           {"t", "pause", "web"},
           {"t", "resume", "web"},
           {"t", "exec", "--exec-id", "e1", "web", "sh", "-c", "echo hi"},
           {"t", "wait", "web"},
           {"t", "rm", "-f", "web"},
           {"t", "attach", "web"},
           {"t", "metrics", "web"},
           {"t", "logs", "-f", "web"},
           {"run", "--rm", "img", "web", "sh", "-c", "exit 7"},
           {"i", "ls"},
           {"i", "rm", "ref"},
           {"i", "tag", "a", "b"},
           {"events", "--filter", "topic=/tasks/"},
           {"ns", "ls"},
           {"ns", "create", "dev", "--label", "team=x"},
           {"ns", "rm", "dev"},
           {"version"},
       }) {
    INFO(args[0] << " " << args[1 % args.size()]);
    auto p = parse(args);
    CHECK(p.error.empty());
    CHECK(p.ok);
    CHECK(static_cast<bool>(p.chosen.run));
  }
}

TEST_CASE("global flags and their defaults", "[cli][command-line]") {
  auto p = parse({"-n", "dev", "--address", "unix:/tmp/b.sock", "--timeout", "500ms", "c", "ls"});
  REQUIRE(p.ok);
  CHECK(p.globals.ns == "dev");
  CHECK(p.globals.address == "unix:/tmp/b.sock");
  CHECK(p.globals.timeout_seconds == Approx(0.5));

  auto d = parse({"c", "ls"});
  CHECK(d.globals.ns == "default");
  // Not given: negative, so quick calls get kDefaultCallDeadlineSeconds.
  CHECK(d.globals.timeout_seconds < 0);
  CHECK(parse({"--timeout", "0", "c", "ls"}).globals.timeout_seconds == 0);
}

TEST_CASE("attached verbs capture SIGINT and SIGTERM; detached ones do not",
          "[cli][command-line]") {
  CHECK(parse({"run", "img", "web"}).chosen.signals.size() == 3);
  CHECK(parse({"run", "-d", "img", "web"}).chosen.signals.empty());
  CHECK(parse({"t", "start", "web"}).chosen.signals.size() == 3);
  CHECK(parse({"t", "start", "-d", "web"}).chosen.signals.empty());
  CHECK(parse({"c", "ls"}).chosen.signals.empty());
}

TEST_CASE("bad usage names the problem", "[cli][command-line]") {
  CHECK_THAT(parse({"c", "ls", "--bogus"}).error, Catch::Contains("--bogus"));
  CHECK_THAT(parse({"run", "--env", "FOO", "img", "web"}).error,
             Catch::Contains("invalid --env \"FOO\": expected KEY=VALUE"));
  CHECK_THAT(parse({"c", "create", "--mount", "src=/a", "img", "web"}).error,
             Catch::Contains("dst is missing"));
  CHECK_THAT(parse({"t", "kill", "-s", "SIGFOO", "web"}).error,
             Catch::Contains("unknown signal \"SIGFOO\""));
  CHECK_THAT(parse({"run", "--rm", "-d", "img", "web"}).error, Catch::Contains("excludes"));
  CHECK_THAT(parse({"c", "create", "img"}).error, Catch::Contains("ID"));
  CHECK_THAT(parse({"t", "exec", "web", "sh"}).error, Catch::Contains("--exec-id"));
  CHECK_THAT(parse({"t", "ls", "--format", "yaml"}).error, Catch::Contains("yaml"));
  CHECK_THAT(parse({"events", "--filter", "color=red"}).error,
             Catch::Contains("expected topic=PREFIX or namespace=NAME"));
  CHECK_THAT(parse({"run", "--cap-add", "CAP_BOGUS", "img", "web"}).error,
             Catch::Contains("invalid --cap-add \"CAP_BOGUS\": not a Linux capability"));
  CHECK_THAT(parse({"c", "create", "--cap-drop", "chwon", "img", "web"}).error,
             Catch::Contains("invalid --cap-drop \"chwon\": not a Linux capability"));
  CHECK_THAT(parse({"run", "--device", "/dev/null:dev/x", "img", "web"}).error,
             Catch::Contains("invalid --device \"/dev/null:dev/x\": container path \"dev/x\""));
  CHECK_FALSE(parse({}).ok);
  CHECK_FALSE(parse({"c"}).ok);
}

TEST_CASE("--cap-add, --cap-drop and --device become the request", "[cli][command-line]") {
  CLI::App app;
  create_options o;
  add_create_options(app, o);
  std::vector<std::string> args = {"--cap-drop", "ALL",       "--cap-add", "net_bind_service",
                                   "--cap-add",  "CAP_CHOWN", "--device",  "/dev/null:/dev/n:r",
                                   "--device",   "/dev/zero", "img",       "web"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::api::CreateContainerRequest>();
  fill_create_request(o, "dev", req);
  auto opts = req.asReader().getOptions();
  REQUIRE(opts.getCapAdd().size() == 2);
  CHECK(std::string(opts.getCapAdd()[0].cStr()) == "net_bind_service");
  CHECK(std::string(opts.getCapAdd()[1].cStr()) == "CAP_CHOWN");
  REQUIRE(opts.getCapDrop().size() == 1);
  CHECK(std::string(opts.getCapDrop()[0].cStr()) == "ALL");
  REQUIRE(opts.getDevices().size() == 2);
  auto n = opts.getDevices()[0];
  CHECK(std::string(n.getHostPath().cStr()) == "/dev/null");
  CHECK(std::string(n.getContainerPath().cStr()) == "/dev/n");
  CHECK(std::string(n.getPermissions().cStr()) == "r");
  auto z = opts.getDevices()[1];
  CHECK(std::string(z.getContainerPath().cStr()) == "/dev/zero");
  CHECK(std::string(z.getPermissions().cStr()) == "rwm");
}

TEST_CASE("usage errors show the verb's own help", "[cli][command-line]") {
  CLI::App app;
  global_options globals;
  verb_action chosen;
  build_command_line(app, globals, chosen);
  // CLI11 takes a vector last-first: this is `c create --env FOO img web`.
  std::vector<std::string> args = {"web", "img", "FOO", "--env", "create", "c"};
  try {
    app.parse(args);
    FAIL("parsed");
  } catch (const CLI::ParseError& e) {
    auto text = usage_error(app, e);
    CHECK_THAT(text, Catch::StartsWith("berth: "));
    CHECK_THAT(text, Catch::Contains("--memory-limit"));
  }
}

TEST_CASE("create's flags become the request", "[cli][command-line]") {
  CLI::App app;
  create_options o;
  add_create_options(app, o);
  std::vector<std::string> args = {"--env",
                                   "A=1",
                                   "--env",
                                   "B=2=3",
                                   "--label",
                                   "tier=web",
                                   "--mount",
                                   "type=bind,src=/data,dst=/data,options=ro",
                                   "--cwd",
                                   "/srv",
                                   "--user",
                                   "1000:100",
                                   "--net-host",
                                   "-t",
                                   "--memory-limit",
                                   "64m",
                                   "--cpus",
                                   "1.5",
                                   "--hostname",
                                   "box",
                                   "img",
                                   "web",
                                   "sh",
                                   "-c",
                                   "echo hi"};
  std::reverse(args.begin(), args.end());
  app.parse(args);

  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::api::CreateContainerRequest>();
  fill_create_request(o, "dev", req);
  auto r = req.asReader();
  CHECK(std::string(r.getNamespace().cStr()) == "dev");
  CHECK(std::string(r.getId().cStr()) == "web");
  CHECK(std::string(r.getImage().cStr()) == "img");
  CHECK(r.getRuntime().size() == 0);
  REQUIRE(r.getLabels().size() == 1);
  CHECK(std::string(r.getLabels()[0].getValue().cStr()) == "web");
  auto opts = r.getOptions();
  auto p = opts.getProcess();
  REQUIRE(p.getArgs().size() == 3);
  CHECK(std::string(p.getArgs()[1].cStr()) == "-c");
  CHECK(std::string(p.getArgs()[2].cStr()) == "echo hi");
  REQUIRE(p.getEnv().size() == 2);
  CHECK(std::string(p.getEnv()[1].cStr()) == "B=2=3");
  CHECK(std::string(p.getCwd().cStr()) == "/srv");
  CHECK(p.getUser().getUid() == 1000);
  CHECK(p.getUser().getGid() == 100);
  CHECK(p.getTerminal());
  REQUIRE(opts.getMounts().size() == 1);
  CHECK(std::string(opts.getMounts()[0].getSource().cStr()) == "/data");
  REQUIRE(opts.getMounts()[0].getOptions().size() == 1);
  CHECK(std::string(opts.getMounts()[0].getOptions()[0].cStr()) == "ro");
  CHECK(opts.getNetHost());
  CHECK(opts.getMemoryLimit() == 64 * 1024 * 1024);
  CHECK(opts.getCpus() == Approx(1.5));
  CHECK(std::string(opts.getHostname().cStr()) == "box");
}

TEST_CASE("\"--\" before the command is not part of it", "[cli][command-line]") {
  CHECK(command_args({"--", "sh", "-c", "x"}) == std::vector<std::string>{"sh", "-c", "x"});
  CHECK(command_args({"sh", "--"}) == std::vector<std::string>{"sh", "--"});
}
