#include <catch2/catch.hpp>

#include "schema/socket_address.hpp"

using berth::unix_socket_address;

TEST_CASE("socket addresses: a path, unix:PATH and unix://PATH name the same socket", "[schema]") {
  for (const char* given :
       {"/run/berth/berth.sock", "unix:/run/berth/berth.sock", "unix:///run/berth/berth.sock"}) {
    INFO(given);
    CHECK(unix_socket_address(given) == "unix:/run/berth/berth.sock");
  }
  for (const char* bad : {"", "/", "unix:", "unix://", "berth.sock", "unix:berth.sock",
                          "unix://run/berth.sock", "tls://127.0.0.1:1234"}) {
    INFO(bad);
    CHECK(unix_socket_address(bad).empty());
  }
}
