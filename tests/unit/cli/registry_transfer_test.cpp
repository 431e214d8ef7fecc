// The registry logins `berth i pull` finds on its own: the registry a
// reference names (docker's rule) and its entry in a docker config.json.
#include <catch2/catch.hpp>

#include "cli/registry_transfer.hpp"

using namespace berth::cli;

TEST_CASE("the registry a reference names, as docker reads it", "[pull]") {
  CHECK(registry_of("busybox") == "docker.io");
  CHECK(registry_of("library/busybox:1.36") == "docker.io");
  CHECK(registry_of("docker.io/library/busybox") == "docker.io");
  CHECK(registry_of("quay.io/app/web:1") == "quay.io");
  CHECK(registry_of("127.0.0.1:5000/app") == "127.0.0.1:5000");
  CHECK(registry_of("localhost/app") == "localhost");
}

TEST_CASE("logins from a docker config.json's auths", "[pull]") {
  // "alice:s3cret" and "bob:pa:ss" in base64, as `docker login` writes them.
  std::string config = R"({"auths":{
    "127.0.0.1:5000":{"auth":"YWxpY2U6czNjcmV0"},
    "https://index.docker.io/v1/":{"auth":"Ym9iOnBhOnNz"},
    "broken.example":{"auth":"bm9jb2xvbg=="}}})";
  auto a = login_from_docker_config(config, "127.0.0.1:5000");
  REQUIRE(a);
  CHECK(a->username == "alice");
  CHECK(a->password == "s3cret");
  auto b = login_from_docker_config(config, "docker.io");
  REQUIRE(b);
  CHECK(b->username == "bob");
  CHECK(b->password == "pa:ss");  // only the first colon separates
  CHECK_FALSE(login_from_docker_config(config, "quay.io"));
  CHECK_FALSE(login_from_docker_config(config, "broken.example"));  // no colon: not a login
  CHECK_FALSE(login_from_docker_config("not json", "127.0.0.1:5000"));
  CHECK_FALSE(login_from_docker_config(R"({"auths":[]})", "127.0.0.1:5000"));
}
