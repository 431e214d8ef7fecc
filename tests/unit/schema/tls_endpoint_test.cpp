// The tls:// address rule (schema/tls_endpoint.hpp): what berthd and the CLI
// accept, and the reasons for what they refuse. The files are exercised by
// tests/integration/cluster/tls_api_test.cpp with real certificates.
#include "schema/tls_endpoint.hpp"

#include <catch2/catch.hpp>

using berth::parse_tls_address;
using Catch::Contains;

namespace {

std::string refusal(const std::string& address) {
  try {
    parse_tls_address(address);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tls:// addresses are split into host and port", "[unit][tls]") {
  auto a = parse_tls_address("tls://node-a.example:7443");
  CHECK(a.host == "node-a.example");
  CHECK(a.port == 7443);
  CHECK(a.kj_address == "node-a.example:7443");
  CHECK(a.text == "tls://node-a.example:7443");

  auto v6 = parse_tls_address("tls://[::1]:7443");
  CHECK(v6.host == "::1");
  CHECK(v6.kj_address == "[::1]:7443");

  CHECK(parse_tls_address("tls://0.0.0.0:1").port == 1);
  CHECK(berth::is_tls_address("tls://x:1"));
  CHECK_FALSE(berth::is_tls_address("unix:/run/berth/berth.sock"));
}

TEST_CASE("plain TCP and malformed tls:// addresses are refused with the reason", "[unit][tls]") {
  CHECK_THAT(refusal("tcp://127.0.0.1:7443"), Contains("plain TCP is not offered"));
  CHECK_THAT(refusal("unix:/x"), Contains("expected tls://HOST:PORT"));
  CHECK_THAT(refusal("tls://host"), Contains("no port"));
  CHECK_THAT(refusal("tls://:7443"), Contains("no host"));
  CHECK_THAT(refusal("tls://host:0"), Contains("from 1 to 65535"));
  CHECK_THAT(refusal("tls://host:65536"), Contains("from 1 to 65535"));
  CHECK_THAT(refusal("tls://host:http"), Contains("from 1 to 65535"));
  CHECK_THAT(refusal("tls://::1:7443"), Contains("brackets"));
  CHECK_THAT(refusal("tls://[::1]7443"), Contains("tls://[IPV6]:PORT"));
}

TEST_CASE("TLS files that cannot be read are named", "[unit][tls]") {
  try {
    berth::tls_identity::load({"", "", "/nonexistent/ca.crt"}, false);
    FAIL("loaded a missing CA file");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("bad CA file /nonexistent/ca.crt: No such file or directory"));
  }
  CHECK_THROWS_WITH(berth::tls_identity::load({"", "", ""}, false),
                    Contains("no CA file given (--tls-ca)"));
  CHECK_THROWS_WITH(berth::tls_identity::load({"a.crt", "", "/etc/os-release"}, false),
                    Contains("--tls-cert needs --tls-key"));
  CHECK_THROWS_WITH(berth::tls_identity::load({"", "", "/etc/os-release"}, false),
                    Contains("bad CA file /etc/os-release: no PEM certificate in it"));
}
