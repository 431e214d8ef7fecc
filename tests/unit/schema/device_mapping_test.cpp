// --device HOST[:CONTAINER[:PERMS]] as docker reads it, and the rules berthd
// checks again on a request's fields.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "schema/device_mapping.hpp"

using namespace berth;

namespace {

std::string refusal(const std::string& text) {
  try {
    parse_device_mapping(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("--device: its forms, with the defaults filled in", "[unit][devices]") {
  struct row {
    const char* text;
    const char* host;
    const char* container;
    const char* perms;
  };
  for (auto r : {row{"/dev/null", "/dev/null", "/dev/null", "rwm"},
                 row{"/dev/null:/dev/mynull", "/dev/null", "/dev/mynull", "rwm"},
                 row{"/dev/null:r", "/dev/null", "/dev/null", "r"},
                 row{"/dev/null:mw", "/dev/null", "/dev/null", "mw"},
                 row{"/dev/sda:/dev/xvdc:rw", "/dev/sda", "/dev/xvdc", "rw"},
                 row{"/dev/disk/by-id/x:/dev/d:m", "/dev/disk/by-id/x", "/dev/d", "m"}}) {
    INFO(r.text);
    auto m = parse_device_mapping(r.text);
    CHECK(m.host_path == r.host);
    CHECK(m.container_path == r.container);
    CHECK(m.permissions == r.perms);
  }
}

TEST_CASE("--device: what is refused, naming the value and the rule", "[unit][devices]") {
  CHECK(
      refusal("dev/null") ==
      "invalid --device \"dev/null\": host path \"dev/null\": must be an absolute path without ..");
  CHECK(refusal("/dev/../etc/passwd") ==
        "invalid --device \"/dev/../etc/passwd\": host path \"/dev/../etc/passwd\": must be an "
        "absolute path without ..");
  CHECK(refusal("") ==
        "invalid --device \"\": host path \"\": must be an absolute path without ..");
  for (const char* bad : {"/dev/null:mynull", "/dev/null:/dev/../x", "/dev/null:/dev//x",
                          "/dev/null:/dev/x/", "/dev/null:/", "/dev/null:/./x"}) {
    INFO(bad);
    CHECK_THAT(refusal(bad),
               Catch::Contains("must be an absolute, normalised path without . or .."));
  }
  CHECK(refusal("/dev/null:/dev/x:rx") ==
        "invalid --device \"/dev/null:/dev/x:rx\": permissions \"rx\": must be a combination of r, "
        "w and m, each at most once");
  CHECK_THAT(refusal("/dev/null:/dev/x:rr"), Catch::Contains("each at most once"));
  CHECK(refusal("/dev/null:/dev/x:r:w") ==
        "invalid --device \"/dev/null:/dev/x:r:w\": expected HOST[:CONTAINER[:PERMS]]");
  CHECK_THAT(refusal("/dev/null:"), Catch::Contains("with no empty part"));
  CHECK_THAT(refusal("/dev/null::r"), Catch::Contains("with no empty part"));
}

TEST_CASE("device mappings from a request: empty fields are the defaults", "[unit][devices]") {
  CHECK_FALSE(device_mapping_problem({"/dev/null", "", ""}));
  auto m = with_defaults({"/dev/null", "", ""});
  CHECK(m.container_path == "/dev/null");
  CHECK(m.permissions == "rwm");
  CHECK(device_mapping_problem({"/dev/null", "/dev/x", "q"}) ==
        "permissions \"q\": must be a combination of r, w and m, each at most once");
  CHECK(device_mapping_problem({"relative", "", ""}) ==
        "host path \"relative\": must be an absolute path without ..");
}
