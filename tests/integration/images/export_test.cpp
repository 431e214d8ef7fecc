// `berth i export FILE REF...` against a real berthd: the archive is an OCI
// image layout that `berth i import` and skopeo read with the same digest,
// that skopeo pushes to a registry from which `berth i pull` gets it back
// unchanged; an unknown image leaves no file behind.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "berth_runner.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/registry_process.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

TEST_CASE("export -> import and skopeo round trips keep the digest", "[images][export]") {
  temp_dir dir{"berth-export"};
  berthd_process daemon;
  auto berth = [&](std::vector<std::string> args) {
    return run_berth_at(daemon.address(), std::move(args));
  };
  std::string source = dir / "busybox.tar";
  auto built = write_oci_archive(source, busybox_image());
  REQUIRE(berth({"i", "import", source}).exit_code == 0);
  REQUIRE(berth({"i", "tag", "busybox", "example.com/team/bb:2"}).exit_code == 0);

  std::string out = dir / "out.tar";
  auto exported = berth({"i", "export", out, "busybox", "example.com/team/bb:2"});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.out, Contains("exported 2 images to " + out));
  CHECK_FALSE(fs::exists(out + ".partial"));

  // Into a fresh berthd: both names, the same digest.
  berthd_process other;
  auto imported = run_berth_at(other.address(), {"i", "import", out});
  INFO(imported.err);
  CHECK(imported.exit_code == 0);
  CHECK_THAT(imported.out,
             Contains("imported docker.io/library/busybox:latest (" + built.manifest_digest + ")"));
  CHECK_THAT(imported.out,
             Contains("imported example.com/team/bb:2 (" + built.manifest_digest + ")"));
  auto ran = run_berth_at(other.address(), {"run", "--rm", "busybox", "r", "echo", "round trip"});
  CHECK(ran.out == "round trip\n");

  // skopeo reads it, and what it pushes from it pulls back with the same digest.
  registry_process registry;
  std::string pushed_digest = dir / "pushed.digest";
  REQUIRE(std::system(("skopeo --insecure-policy copy --quiet --dest-tls-verify=false "
                       "--digestfile " +
                       pushed_digest + " oci-archive:" + out +
                       ":docker.io/library/busybox:latest docker://" + registry.host() +
                       "/exported/bb:1")
                          .c_str()) == 0);
  auto pulled = berth({"i", "pull", "--plain-http", registry.host() + "/exported/bb:1"});
  INFO(pulled.err);
  CHECK(pulled.out ==
        "pulled " + registry.host() + "/exported/bb:1 (" + built.manifest_digest + ")\n");
}

TEST_CASE("export of an unknown image fails and leaves no file", "[images][export]") {
  temp_dir dir{"berth-export-bad"};
  berthd_process daemon;
  std::string out = dir / "none.tar";
  auto r = run_berth_at(daemon.address(), {"i", "export", out, "nothing:here"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("berth: export to " + out +
                             ": image \"docker.io/library/nothing:here\" "
                             "in namespace \"default\" not found"));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out + ".partial"));
  CHECK(fs::is_empty(daemon.root() + "/content/ingest"));
  auto bad = run_berth_at(daemon.address(), {"i", "export", out, "Bad Name"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Contains("invalid image name"));
}
