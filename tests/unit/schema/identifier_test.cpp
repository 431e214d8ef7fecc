#include <catch2/catch.hpp>

#include <string>

#include "schema/identifier.hpp"

using berth::check_identifier;

TEST_CASE("valid identifiers pass", "[identifier]") {
  for (const char* id : {"a", "web", "Web01", "my-app", "my_app.v2", "a.b-c_d", "0", "x1-2-3"}) {
    INFO(id);
    CHECK_FALSE(check_identifier("container id", id).has_value());
  }
  CHECK(berth::is_valid_identifier(std::string(76, 'a')));
}

TEST_CASE("invalid identifiers are refused naming the rule", "[identifier]") {
  auto msg = [](std::string_view v) { return check_identifier("container id", v).value_or(""); };

  CHECK(msg("") == "invalid container id \"\": must not be empty");
  CHECK(msg(std::string(77, 'a')).find("longer than 76 characters (77)") != std::string::npos);
  CHECK(msg("..").find("must start with a letter or digit") != std::string::npos);
  CHECK(msg("../x").find("must start with a letter or digit") != std::string::npos);
  CHECK(msg("a/b").find("character \"/\" at 1 is not allowed") != std::string::npos);
  CHECK(msg("a b").find("character \" \" at 1 is not allowed") != std::string::npos);
  CHECK(msg(std::string("a\0b", 3)).find("character \"\\x00\" at 1") != std::string::npos);
  CHECK(msg("a..b").find("must sit between letters or digits") != std::string::npos);
  CHECK(msg("-a").find("must start with a letter or digit") != std::string::npos);
  CHECK(msg("a-").find("must end with a letter or digit") != std::string::npos);
  CHECK(msg("\x1b[31m").find("\\x1b") != std::string::npos);
  CHECK(check_identifier("namespace", "a/b").value().rfind("invalid namespace ", 0) == 0);
}
