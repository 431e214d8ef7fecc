// --env/--label K=V, --mount type=bind,src=…,dst=…,options=…, --user U:
// what parses, what it becomes, and the message for what does not.
#include <catch2/catch.hpp>

#include "cli/flag_values.hpp"

using namespace berth::cli;

namespace {

std::string error_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("K=V splits at the first '='", "[cli][flags]") {
  auto kv = parse_key_value("PATH=/bin:/usr/bin", "--env");
  CHECK(kv.key == "PATH");
  CHECK(kv.value == "/bin:/usr/bin");
  CHECK(parse_key_value("A=b=c", "--env").value == "b=c");
  CHECK(parse_key_value("EMPTY=", "--env").value.empty());
}

TEST_CASE("malformed K=V names the flag and the value", "[cli][flags]") {
  CHECK(error_of([] { parse_key_value("FOO", "--env"); }) ==
        "invalid --env \"FOO\": expected KEY=VALUE");
  CHECK(error_of([] { parse_key_value("=bar", "--label"); }) ==
        "invalid --label \"=bar\": the key is empty");
}

TEST_CASE("a bind mount parses with every spelling of its keys", "[cli][flags]") {
  auto m = parse_mount("type=bind,src=/data,dst=/mnt,options=ro:rbind");
  CHECK(m.type == "bind");
  CHECK(m.source == "/data");
  CHECK(m.destination == "/mnt");
  CHECK(m.options == std::vector<std::string>{"ro", "rbind"});

  auto long_keys = parse_mount("type=bind,source=/a,destination=/b");
  CHECK(long_keys.source == "/a");
  CHECK(long_keys.destination == "/b");
  CHECK(long_keys.options == std::vector<std::string>{"rbind"});  // the default for bind

  CHECK(parse_mount("src=/a,target=/b").type == "bind");
  auto tmpfs = parse_mount("type=tmpfs,dst=/tmp");
  CHECK(tmpfs.type == "tmpfs");
  CHECK(tmpfs.options.empty());
}

TEST_CASE("malformed mounts say what is wrong", "[cli][flags]") {
  CHECK(error_of([] { parse_mount("type=bind,src=/a"); }) ==
        "invalid mount \"type=bind,src=/a\": dst is missing");
  CHECK(error_of([] { parse_mount("type=bind,dst=/b"); }) ==
        "invalid mount \"type=bind,dst=/b\": src is missing");
  CHECK(error_of([] { parse_mount("src=a,dst=/b"); }) ==
        "invalid mount \"src=a,dst=/b\": src must be an absolute path");
  CHECK(error_of([] { parse_mount("src=/a,dst=b"); }) ==
        "invalid mount \"src=/a,dst=b\": dst must be an absolute path");
  CHECK(error_of([] { parse_mount("bogus"); }) ==
        "invalid mount \"bogus\": \"bogus\" is not KEY=VALUE");
  CHECK(error_of([] { parse_mount("src=/a,dst=/b,color=red"); }).find("unknown key \"color\"") !=
        std::string::npos);
  CHECK(error_of([] { parse_mount("src=/a,dst=/b,options=ro::rbind"); }) ==
        "invalid mount \"src=/a,dst=/b,options=ro::rbind\": an empty option");
}

TEST_CASE("users are numeric ids or names", "[cli][flags]") {
  auto numeric = parse_user("1000:100");
  CHECK(numeric.uid == 1000u);
  CHECK(numeric.gid == 100u);
  CHECK(numeric.name.empty());
  CHECK(parse_user("65534").gid == 0u);
  CHECK(parse_user("nobody").name == "nobody");
  CHECK(parse_user("1000:staff").name == "1000:staff");    // resolved in the container
  CHECK(parse_user("99999999999").name == "99999999999");  // too big for a uid: a name
  CHECK(error_of([] { parse_user("a:b:c"); }) ==
        "invalid --user \"a:b:c\": expected USER or USER:GROUP");
  CHECK(!error_of([] { parse_user(""); }).empty());
}

TEST_CASE("validators hand CLI11 the parser's message", "[cli][flags]") {
  std::string bad = "FOO";
  CHECK(env_validator()(bad) == "invalid --env \"FOO\": expected KEY=VALUE");
  std::string good = "A=1";
  CHECK(env_validator()(good).empty());
  std::string sig = "SIGFOO";
  CHECK(signal_validator()(sig) == "unknown signal \"SIGFOO\"");
  std::string kill = "kill";
  CHECK(signal_validator()(kill).empty());
}
