// `berth i …` with archives built from busybox-static at test time, and
// containers run from an imported image. Needs berthd's image store.
#include <catch2/catch.hpp>

#include "cli_fixture.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::test;
using Catch::Contains;
using Catch::StartsWith;

namespace {

const std::string& busybox_archive() {
  static temp_dir dir("berth-cli-images");
  static std::string path = [] {
    std::string p = dir / "busybox.tar";
    write_docker_archive(p, busybox_image());
    return p;
  }();
  return path;
}

}  // namespace

TEST_CASE("i import, ls, tag, rm; run from the image", "[cli][images]") {
  auto imported = b({"i", "import", busybox_archive()});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  CHECK_THAT(imported.out, StartsWith("imported docker.io/library/busybox:latest (sha256:"));

  auto ls = b({"i", "ls"});
  CHECK_THAT(ls.out, StartsWith("REF"));
  CHECK(has_row(ls.out, "docker.io/library/busybox:latest", "sha256:"));
  CHECK_THAT(b({"i", "ls", "-q"}).out, Contains("docker.io/library/busybox:latest\n"));

  auto run = b(
      {"run", "--rm", "docker.io/library/busybox:latest", unique_id("img"), "echo", "from-image"});
  CHECK(run.err == "");
  CHECK(run.out == "from-image\n");
  CHECK(run.exit_code == 0);
  // From an image too, the host device and the capabilities reach the spec
  // (they ride with the options while the snapshot is prepared).
  auto dev = b({"run", "--rm", "--device", "/dev/null:/dev/mynull", "--cap-drop", "ALL",
                "docker.io/library/busybox:latest", unique_id("img"), "sh", "-c",
                "echo x > /dev/mynull && grep CapEff: /proc/self/status"});
  CHECK(dev.err == "");
  CHECK(dev.out == "CapEff:\t0000000000000000\n");
  CHECK(dev.exit_code == 0);

  auto tag = b({"i", "tag", "docker.io/library/busybox:latest", "local/box:1"});
  CHECK(tag.exit_code == 0);
  CHECK(tag.out == "local/box:1\n");
  // Names are normalised as docker does: local/box:1 is docker.io/local/box:1.
  CHECK(has_row(b({"i", "ls"}).out, "docker.io/local/box:1", "sha256:"));

  auto rm = b({"i", "rm", "local/box:1"});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == "local/box:1\n");
  CHECK_FALSE(has_row(b({"i", "ls"}).out, "docker.io/local/box:1", ""));
}

TEST_CASE("i import --name gives the reference", "[cli][images]") {
  auto r = b({"i", "import", "--name", "local/named:2", busybox_archive()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("imported docker.io/local/named:2"));
  CHECK(b({"i", "rm", "local/named:2"}).exit_code == 0);
}

TEST_CASE("image verbs on bad input", "[cli][images]") {
  auto missing_file = b({"i", "import", "/nonexistent/image.tar"});
  CHECK(missing_file.exit_code == 2);
  CHECK_THAT(missing_file.err, Contains("/nonexistent/image.tar"));

  temp_dir dir("berth-cli-badimg");
  std::string broken = dir / "broken.tar";
  archive_tweaks tweaks;
  tweaks.corrupt_layer = true;
  write_docker_archive(broken, busybox_image(), tweaks);
  auto corrupt = b({"i", "import", broken});
  CHECK(corrupt.exit_code == 1);
  // Progress lines come first on stderr; the error is the last line.
  CHECK_THAT(corrupt.err, Contains("\nberth: import " + broken + ": ") && Contains("diff id"));

  auto rm = b({"i", "rm", "docker.io/library/nosuch:latest"});
  CHECK(rm.exit_code == 1);
  CHECK_THAT(rm.err, StartsWith("berth: remove image docker.io/library/nosuch:latest: "));
  auto tag = b({"i", "tag", "docker.io/library/nosuch:latest", "x/y:z"});
  CHECK(tag.exit_code == 1);
  CHECK_THAT(tag.err, Contains("not found"));
}

TEST_CASE("i rm refuses an image a container uses, until the container is gone", "[cli][images]") {
  REQUIRE(b({"i", "import", "--name", "local/inuse:1", busybox_archive()}).exit_code == 0);
  auto id = unique_id("inuse");
  auto created = b({"c", "create", "local/inuse:1", id, "true"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);

  auto refused = b({"i", "rm", "local/inuse:1"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out == "");
  CHECK(refused.err ==
        "berth: remove image local/inuse:1: image docker.io/local/inuse:1 is in use "
        "by container default/" +
            id + "; delete it first\n");
  CHECK(has_row(b({"i", "ls"}).out, "docker.io/local/inuse:1", "sha256:"));

  REQUIRE(b({"c", "rm", id}).exit_code == 0);
  auto rm = b({"i", "rm", "local/inuse:1"});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == "local/inuse:1\n");
  CHECK_FALSE(has_row(b({"i", "ls"}).out, "docker.io/local/inuse:1", ""));
}
