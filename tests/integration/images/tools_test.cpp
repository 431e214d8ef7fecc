// Archives made by other tools (skopeo, umoci) import and unpack. Skipped,
// with a warning, when the tool is not installed (scripts/install-deps has both).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/images/unpacker.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/skip.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

void run(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system((cmd + " >/dev/null").c_str()) == 0);
}

// Unpacks into a view and checks busybox is where it belongs.
void check_unpacks(const content_store& store, const std::string& root, const resolved_image& img) {
  auto snaps = make_snapshotter(root, "auto");
  auto chain = unpack_image(store, *snaps, img).chain_id;
  auto s = snaps->stat(chain);
  REQUIRE(s);
  bool found = false;
  for (const auto& candidate : snaps->list())
    if (fs::exists(snaps->root() + "/snapshots/" + candidate.id + "/fs/bin/busybox")) found = true;
  CHECK(found);
}

}  // namespace

TEST_CASE("skopeo's docker-archive and oci-archive output imports") {
  if (!have("skopeo")) {
    BERTH_SKIP("skopeo is not installed");
  }
  berth::test::temp_dir tmp;
  auto built = berth::test::write_oci_archive(tmp / "src.tar", berth::test::busybox_image());
  run("skopeo --insecure-policy copy --quiet oci-archive:" + (tmp / "src.tar") +
      " docker-archive:" + (tmp / "docker.tar") + ":example.com/skopeo/bb:v1");
  run("skopeo --insecure-policy copy --quiet oci-archive:" + (tmp / "src.tar") +
      " oci-archive:" + (tmp / "oci.tar") + ":example.com/skopeo/bb:v2");

  content_store store(tmp / "root");
  auto d = import_archive(store, tmp / "docker.tar");
  REQUIRE(d.images.size() == 1);
  CHECK(d.images[0].name == "example.com/skopeo/bb:v1");
  CHECK(d.images[0].image.layers.at(0).diff_id == built.diff_ids[0]);
  check_unpacks(store, tmp / "root", d.images[0].image);

  auto o = import_archive(store, tmp / "oci.tar");
  REQUIRE(o.images.size() == 1);
  CHECK(o.images[0].name == "example.com/skopeo/bb:v2");
  CHECK(o.images[0].image.layers.at(0).diff_id == built.diff_ids[0]);
}

TEST_CASE("an umoci-built OCI layout imports once given a name") {
  if (!have("umoci")) {
    BERTH_SKIP("umoci is not installed");
  }
  berth::test::temp_dir tmp;
  berth::test::make_busybox_bundle(tmp / "bundle");
  std::string layout = tmp / "layout";
  run("umoci init --layout " + layout);
  run("umoci new --image " + layout + ":latest");
  run("umoci insert --image " + layout + ":latest " + (tmp / "bundle/rootfs") + " /");
  run("tar -C " + layout + " -cf " + (tmp / "umoci.tar") + " .");

  content_store store(tmp / "root");
  try {
    import_archive(store, tmp / "umoci.tar");
    FAIL("imported an image without a repository name");
  } catch (const images_error& e) {
    CHECK_THAT(e.what(),
               Catch::EndsWith("is only tagged \"latest\", without a repository; give it a name"));
  }
  CHECK(store.list().empty());
  import_options o;
  o.name = "localhost/umoci-bb";
  auto r = import_archive(store, tmp / "umoci.tar", o);
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].name == "localhost/umoci-bb:latest");
  check_unpacks(store, tmp / "root", r.images[0].image);
}
