// Archive import against a real content store: OCI layouts, docker-archives,
// platform selection, names, progress, and every refusal leaving nothing.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {

std::size_t count(const std::string& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Imports `archive` expecting a refusal; returns its message and checks the
// store holds exactly what it held before.
std::string refusal(const content_store& store, const std::string& archive,
                    const import_options& o = {}) {
  auto before = store.list();
  try {
    import_archive(store, archive, o);
  } catch (const images_error& e) {
    CHECK(store.list() == before);
    CHECK(count(store.ingest_dir()) == 0);
    return e.what();
  }
  FAIL("import of " + archive + " succeeded");
  return {};
}

}  // namespace

TEST_CASE("a single-layer OCI layout imports with every blob verified") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto built = berth::test::write_oci_archive(tmp / "img.tar", berth::test::busybox_image());
  std::vector<import_progress> reports;
  import_options o;
  o.progress = [&](const import_progress& p) { reports.push_back(p); };
  auto r = import_archive(store, tmp / "img.tar", o);
  REQUIRE(r.images.size() == 1);
  const auto& img = r.images[0];
  CHECK(img.name == "docker.io/library/busybox:latest");
  CHECK(img.image.manifest_digest == built.manifest_digest);
  CHECK(img.image.manifest_media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(img.image.config_digest == built.config_digest);
  REQUIRE(img.image.layers.size() == 1);
  CHECK(img.image.layers[0].digest == built.layer_digests[0]);
  CHECK(img.image.layers[0].diff_id == built.diff_ids[0]);
  CHECK(img.image.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK(img.image.platform == "linux/amd64");
  CHECK(img.image.total_size == store.size(built.manifest_digest) +
                                    store.size(built.config_digest) +
                                    store.size(built.layer_digests[0]));
  CHECK(store.list().size() == 3);
  REQUIRE(!reports.empty());
  CHECK(reports.back().bytes_done == reports.back().bytes_total);
  CHECK(reports.back().bytes_total == static_cast<std::int64_t>(fs::file_size(tmp / "img.tar")));
  CHECK(reports.back().layers_done == 1);
  CHECK(reports.back().layers_total == 1);
  // Importing again adds nothing and yields the same image.
  auto again = import_archive(store, tmp / "img.tar");
  CHECK(again.blobs_added.empty());
  CHECK(again.images[0].image.manifest_digest == built.manifest_digest);
}

TEST_CASE("the same image as a docker-archive gets a synthesized OCI manifest") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto built = berth::test::write_docker_archive(tmp / "img.tar", berth::test::busybox_image());
  auto r = import_archive(store, tmp / "img.tar");
  REQUIRE(r.images.size() == 1);
  const auto& img = r.images[0].image;
  CHECK(r.images[0].name == "docker.io/library/busybox:latest");
  CHECK(img.manifest_media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(store.has(img.manifest_digest));
  CHECK(img.config_digest == built.config_digest);
  CHECK(img.layers[0].digest == built.layer_digests[0]);
  CHECK(img.layers[0].diff_id == built.diff_ids[0]);
  CHECK(store.list().size() == 3);  // layer, config, manifest; no stray VERSION files
}

TEST_CASE("the 3-layer image imports with gzip, zstd and plain layers") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto built =
      berth::test::write_oci_archive(tmp / "three.tar", berth::test::busybox_three_layer_image());
  auto r = import_archive(store, tmp / "three.tar");
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].name == "docker.io/library/busybox:three");
  const auto& layers = r.images[0].image.layers;
  REQUIRE(layers.size() == 3);
  CHECK(layers[1].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  CHECK(layers[2].media_type == "application/vnd.oci.image.layer.v1.tar");
  for (int i = 0; i < 3; ++i) CHECK(layers[i].diff_id == built.diff_ids[i]);
}

TEST_CASE("a name given at import replaces the archive's") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  berth::test::archive_tweaks unnamed;
  unnamed.no_name = true;
  berth::test::write_oci_archive(tmp / "img.tar", berth::test::busybox_image(), unnamed);
  auto msg = refusal(store, tmp / "img.tar");
  CHECK_THAT(msg, Catch::StartsWith("cannot import " + (tmp / "img.tar") + ": image sha256:"));
  CHECK_THAT(msg, Catch::EndsWith(" has no name in the archive; give it a name"));
  import_options o;
  o.name = "example.com/tools/bb:1";
  auto r = import_archive(store, tmp / "img.tar", o);
  CHECK(r.images.at(0).name == "example.com/tools/bb:1");
}

TEST_CASE("platform selection in an image index") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto amd = berth::test::busybox_image();
  auto arm = berth::test::busybox_image();
  arm.architecture = "arm64";
  arm.layers[0].entries.emplace_back(berth::test::tar_entry::file, "etc/arch", "arm64\n");
  auto built = berth::test::write_oci_multiplatform_archive(tmp / "multi.tar", {amd, arm});

  auto r = import_archive(store, tmp / "multi.tar");
  CHECK(r.images.at(0).image.manifest_digest == built[0].manifest_digest);
  // The arm64 blobs were not kept: nothing references them.
  CHECK_FALSE(store.has(built[1].layer_digests[0]));

  import_options o;
  o.platform = "linux/arm64";
  r = import_archive(store, tmp / "multi.tar", o);
  CHECK(r.images.at(0).image.manifest_digest == built[1].manifest_digest);
  CHECK(r.images.at(0).image.platform == "linux/arm64");

  o.platform = "linux/s390x";
  auto msg = refusal(store, tmp / "multi.tar", o);
  CHECK_THAT(msg,
             Catch::StartsWith("cannot import " + (tmp / "multi.tar") + ": image index sha256:"));
  CHECK_THAT(msg,
             Catch::EndsWith(" has no manifest for linux/s390x (it has linux/amd64, linux/arm64)"));
}

TEST_CASE("bad archives are refused and leave nothing behind") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  // A blob an earlier import left must survive a failed import naming it too.
  berth::test::write_oci_archive(tmp / "good.tar", berth::test::busybox_image());
  import_archive(store, tmp / "good.tar");
  REQUIRE(store.list().size() == 3);
  auto three = berth::test::busybox_three_layer_image();
  std::string path = tmp / "bad.tar";
  berth::test::archive_tweaks t;

  SECTION("truncated tar") {
    auto size = fs::file_size(tmp / "good.tar");
    t.truncate_to = static_cast<std::size_t>(size) * 2 / 3;
    berth::test::write_oci_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK_THAT(msg,
               Catch::StartsWith("cannot import " + path +
                                 ": the tar is truncated or corrupt inside entry \"blobs/sha256/"));
  }
  SECTION("digest mismatch (OCI layout)") {
    t.corrupt_layer = true;
    auto built = berth::test::write_oci_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK_THAT(msg, Catch::StartsWith(
                        "cannot import " + path + ": digest mismatch for entry \"blobs/sha256/" +
                        built.layer_digests[0].substr(7) + "\" of " + path + ": expected " +
                        built.layer_digests[0] + ", content is sha256:"));
  }
  SECTION("digest mismatch (docker-archive layer against its config's diff id)") {
    three.layers[0].compression = berth::test::layer_compression::none;
    t.corrupt_layer = true;
    auto built = berth::test::write_docker_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK_THAT(msg, Catch::StartsWith("cannot import " + path + ": layer \""));
    CHECK_THAT(msg, Catch::EndsWith("/layer.tar\" has diff id " +
                                    msg.substr(msg.find("diff id ") + 8, 71) + ", its config " +
                                    built.config_digest + " says " + built.diff_ids[0]));
  }
  SECTION("a manifest naming a missing blob") {
    t.omit_layer = true;
    auto built = berth::test::write_oci_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK(msg == "cannot import " + path + ": manifest " + built.manifest_digest + " names layer " +
                     built.layer_digests.back() + ", which is not in the archive");
  }
  SECTION("a docker-archive naming a missing layer") {
    t.omit_layer = true;
    berth::test::write_docker_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK_THAT(msg, Catch::StartsWith("cannot import " + path +
                                      ": image 1 of manifest.json names layer \""));
    CHECK_THAT(msg, Catch::EndsWith("/layer.tar\", which is not in the archive"));
  }
  SECTION("an unsupported media type") {
    t.layer_media_type = "application/vnd.example.unknown";
    auto built = berth::test::write_oci_archive(path, three, t);
    auto msg = refusal(store, path);
    CHECK(msg == "cannot import " + path + ": manifest " + built.manifest_digest + " names layer " +
                     built.layer_digests[0] +
                     " of unsupported media type \"application/vnd.example.unknown\"");
  }
  SECTION("no manifest for the platform") {
    three.architecture = "arm64";
    berth::test::write_oci_archive(path, three);
    auto msg = refusal(store, path);
    CHECK(msg == "cannot import " + path +
                     ": the archive has no manifest for linux/amd64 (it has linux/arm64)");
    berth::test::write_docker_archive(path, three);
    msg = refusal(store, path);
    CHECK(msg == "cannot import " + path +
                     ": the archive has no manifest for linux/amd64 (it has linux/arm64)");
  }
  SECTION("not an image archive") {
    std::ofstream(path) << berth::test::make_tar({{berth::test::tar_entry::file, "hello", "x"}});
    CHECK(refusal(store, path) ==
          "cannot import " + path +
              ": it is neither an OCI image layout (no index.json) nor a docker-archive (no "
              "manifest.json)");
  }
  CHECK(store.list().size() == 3);
}
