#include <catch2/catch.hpp>

#include "actors/images/image_reference.hpp"

using namespace berth::images;

TEST_CASE("image names are normalised as docker and containerd store them") {
  CHECK(normalize_image_name("busybox") == "docker.io/library/busybox:latest");
  CHECK(normalize_image_name("busybox:1.36") == "docker.io/library/busybox:1.36");
  CHECK(normalize_image_name("me/app") == "docker.io/me/app:latest");
  CHECK(normalize_image_name("docker.io/library/busybox:latest") ==
        "docker.io/library/busybox:latest");
  CHECK(normalize_image_name("quay.io/x/y") == "quay.io/x/y:latest");
  CHECK(normalize_image_name("localhost:5000/app:v1") == "localhost:5000/app:v1");
  CHECK(normalize_image_name("localhost/app") == "localhost/app:latest");
  std::string d = "sha256:" + std::string(64, 'a');
  CHECK(normalize_image_name("busybox@" + d) == "docker.io/library/busybox@" + d);
  CHECK(with_tag("docker.io/library/busybox:latest", "1") == "docker.io/library/busybox:1");
}

TEST_CASE("bad image names are refused with the rule they break") {
  CHECK_THROWS_WITH(normalize_image_name("Busybox"),
                    "invalid image name \"Busybox\": \"Busybox\" is not a valid repository path "
                    "component (lowercase letters, digits, . _ -)");
  CHECK_THROWS_WITH(normalize_image_name(""), "invalid image name \"\": it is empty");
  CHECK_THROWS_WITH(normalize_image_name("a:b:c"),
                    "invalid image name \"a:b:c\": \"a:b\" is not a valid repository path "
                    "component (lowercase letters, digits, . _ -)");
  CHECK_THROWS_WITH(normalize_image_name("x@sha256:12"),
                    "invalid image name \"x@sha256:12\": \"sha256:12\" is not a sha256 digest");
}
