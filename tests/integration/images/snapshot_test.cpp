// Images unpacked into real snapshots and mounted: the overlay snapshotter
// (real overlayfs mounts) and the copying one, shared layers, removal, GC,
// and failed unpacks leaving no snapshot behind.
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/images/unpacker.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/machine.hpp"
#include "tests/support/skip.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// A mount that is undone however the test ends.
struct mounted {
  mounted(const std::vector<mount_spec>& m, std::string t) : target(std::move(t)) {
    fs::create_directories(target);
    mount_all(m, target);
  }
  ~mounted() { unmount_all(target); }
  std::string target;
};

resolved_image import_one(const content_store& store, const std::string& path) {
  auto r = import_archive(store, path);
  REQUIRE(r.images.size() == 1);
  return r.images[0].image;
}

void check_three_layer_tree(const fs::path& root) {
  CHECK(fs::exists(root / "bin/busybox"));
  CHECK(slurp(root / "etc/layer2.txt") == "from layer 2\n");  // added by layer 2
  CHECK_FALSE(fs::exists(root / "etc/layer1.txt"));           // whiteout in layer 3
  CHECK(fs::exists(root / "etc/passwd"));                     // its siblings stay
  CHECK(names_in(root / "opaque") == std::set<std::string>{"from-layer3.txt"});
  CHECK(slurp(root / "data/b.txt") == "shared inode\n");
}

}  // namespace

TEST_CASE("overlay: the 3-layer image unpacks, mounts and shows the final tree") {
  if (!berth::test::running_as_root()) BERTH_SKIP("needs root");
  // Loads the module first: an overlayfs not loaded yet is no reason to skip.
  if (!berth::test::overlay_mounts_here()) BERTH_SKIP("the kernel cannot mount overlayfs");
  REQUIRE(overlay_supported());
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "overlay");
  REQUIRE(std::string(snaps->driver()) == "overlay");
  berth::test::write_oci_archive(tmp / "three.tar", berth::test::busybox_three_layer_image());
  berth::test::write_docker_archive(tmp / "one.tar", berth::test::busybox_image());
  auto three = import_one(store, tmp / "three.tar");
  auto one = import_one(store, tmp / "one.tar");

  auto report = unpack_image(store, *snaps, three);
  CHECK(report.layers_unpacked == 3);
  auto chains = chain_ids(three.layers);
  CHECK(report.chain_id == chains.back());
  // The single-layer image shares the base layer: nothing to unpack.
  CHECK(unpack_image(store, *snaps, one).layers_unpacked == 0);
  CHECK(unpack_image(store, *snaps, one).chain_id == chains[0]);

  // The base layer dir holds the overlay form of nothing special; layer 3's
  // holds a whiteout device and an opaque directory.
  auto top = snaps->stat(chains[2]);
  REQUIRE(top);
  CHECK(top->kind == snapshot_kind::committed);
  CHECK(top->parent == chains[1]);

  prepare_container_snapshot(store, *snaps, three, "c1");
  prepare_container_snapshot(store, *snaps, three, "c2");
  auto m1 = snaps->mounts("c1");
  REQUIRE(m1.size() == 1);
  CHECK(m1[0].type == "overlay");
  {
    mounted a(m1, tmp / "m1");
    mounted b(snaps->mounts("c2"), tmp / "m2");
    check_three_layer_tree(a.target);
    check_three_layer_tree(b.target);
    // Writes stay in each container's upper dir.
    std::ofstream(fs::path(a.target) / "etc/only-c1") << "c1";
    fs::remove(fs::path(a.target) / "etc/layer2.txt");
    CHECK_FALSE(fs::exists(fs::path(b.target) / "etc/only-c1"));
    CHECK(fs::exists(fs::path(b.target) / "etc/layer2.txt"));
  }
  // Both containers rest on the same committed snapshots.
  CHECK(snaps->stat("c1")->parent == chains[2]);
  CHECK(snaps->stat("c2")->parent == chains[2]);
  std::size_t committed = 0;
  for (const auto& s : snaps->list()) committed += s.kind == snapshot_kind::committed;
  CHECK(committed == 3);

  // A committed snapshot in use cannot go; removing one container leaves the other whole.
  CHECK_THROWS_WITH(snaps->remove(chains[2]), Catch::StartsWith("cannot remove snapshot \"" +
                                                                chains[2] + "\": snapshot \"c"));
  snaps->remove("c1");
  {
    mounted b(snaps->mounts("c2"), tmp / "m2");
    check_three_layer_tree(b.target);
  }
  CHECK(snaps->usage(chains[0]).bytes > 1000000);  // busybox itself
  snaps->remove("c2");
  for (auto it = chains.rbegin(); it != chains.rend(); ++it) snaps->remove(*it);
  CHECK(snaps->list().empty());
  CHECK(fs::is_empty(snaps->root() + "/snapshots"));
}

TEST_CASE("overlay: a single-layer read-only view is a bind mount") {
  if (!berth::test::running_as_root()) {
    BERTH_SKIP("needs root");
  }
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "overlay");
  berth::test::write_oci_archive(tmp / "one.tar", berth::test::busybox_image());
  auto one = import_one(store, tmp / "one.tar");
  auto chain = unpack_image(store, *snaps, one).chain_id;
  auto m = snaps->view("v", chain);
  REQUIRE(m.size() == 1);
  CHECK(m[0].type == "bind");
  CHECK(m[0].options == std::vector<std::string>{"ro", "rbind"});
  mounted v(m, tmp / "v");
  CHECK(fs::exists(fs::path(v.target) / "etc/layer1.txt"));
  std::ofstream probe(fs::path(v.target) / "probe");
  CHECK_FALSE(probe.good());  // read-only
}

TEST_CASE("copying snapshotter: the same tree without overlayfs") {
  if (!berth::test::running_as_root()) {
    BERTH_SKIP("needs root");
  }
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "copy");
  CHECK(snaps->whiteouts() == whiteout_mode::remove);
  berth::test::write_oci_archive(tmp / "three.tar", berth::test::busybox_three_layer_image());
  auto three = import_one(store, tmp / "three.tar");
  prepare_container_snapshot(store, *snaps, three, "c1");
  auto m = snaps->mounts("c1");
  REQUIRE(m.size() == 1);
  CHECK(m[0].type == "bind");
  mounted a(m, tmp / "m1");
  check_three_layer_tree(a.target);
  struct stat x {
  }, y{};
  REQUIRE(::stat((fs::path(a.target) / "data/a.txt").c_str(), &x) == 0);
  REQUIRE(::stat((fs::path(a.target) / "data/b.txt").c_str(), &y) == 0);
  CHECK(x.st_ino == y.st_ino);  // hard links survive the copy
  CHECK(x.st_uid == 1000);
}

TEST_CASE("a layer that fails to unpack leaves no snapshot behind") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "overlay");
  using berth::test::tar_entry;
  auto spec = berth::test::busybox_image();
  berth::test::image_layer evil;
  evil.entries = {{tar_entry::symlink, "escape", {}, "/", 0777},
                  {tar_entry::file, "escape/tmp/pwned", "x"}};
  spec.layers.push_back(evil);
  berth::test::write_oci_archive(tmp / "evil.tar", spec);
  auto img = import_one(store, tmp / "evil.tar");
  try {
    unpack_image(store, *snaps, img);
    FAIL("unpacked a layer writing through a symlink");
  } catch (const images_error& e) {
    CHECK(std::string(e.what()) == "cannot unpack layer " + img.layers[1].digest + " of image " +
                                       img.manifest_digest +
                                       ": layer entry \"escape/tmp/pwned\" goes through symlink "
                                       "\"escape\"; writes through symlinks are refused");
  }
  CHECK_FALSE(fs::exists("/tmp/pwned"));
  // The good base layer stays committed; the failed one left nothing.
  auto list = snaps->list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].key == img.layers[0].diff_id);
  CHECK(names_in(snaps->root() + "/snapshots").size() == 1);
}

TEST_CASE("removing an image's snapshots and blobs through GC") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "auto");
  berth::test::write_oci_archive(tmp / "one.tar", berth::test::busybox_image());
  berth::test::write_oci_archive(tmp / "three.tar", berth::test::busybox_three_layer_image());
  auto one = import_one(store, tmp / "one.tar");
  auto three = import_one(store, tmp / "three.tar");
  auto before = store.list();
  // Remove "three": only what "one" references stays.
  std::set<std::string> keep = {one.manifest_digest, one.config_digest};
  for (const auto& l : one.layers) keep.insert(l.digest);
  auto gc = store.collect_garbage(keep);
  CHECK(gc.removed.size() == before.size() - keep.size());
  CHECK(gc.bytes_freed > 0);
  auto after = store.list();
  CHECK(std::set<std::string>(after.begin(), after.end()) == keep);
  CHECK(store.has(one.layers[0].digest));
  CHECK_FALSE(store.has(three.manifest_digest));
  CHECK_FALSE(store.has(three.layers[2].digest));
}
