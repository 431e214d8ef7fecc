// Untrusted layers: the limits unpacking keeps (entries, unpacked bytes,
// claimed sizes, truncation, free space), privileged xattrs dropped, device
// nodes only on a nodev file system; each refusal names the limit, the
// layer and the entry, and a refused layer leaves no snapshot.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/layer_unpack.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/images/unpacker.hpp"
#include "tests/support/archive_bombs.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/skip.hpp"

using namespace berth::images;
using berth::test::layer_compression;
using berth::test::tar_entry;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

std::string write_blob(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The message apply_layer refuses with ("" when it unpacks).
std::string refusal(const std::string& layer, const std::string& dir, const unpack_options& o) {
  try {
    apply_layer(layer, dir, o);
  } catch (const images_error& e) {
    return e.what();
  }
  return "";
}

unpack_options named(const std::string& what) {
  unpack_options o;
  o.what = what;
  return o;
}

// A tmpfs of `size` mounted at `dir` for the test (nodev or not), unmounted
// at the end: a file system whose free space and flags the test controls.
class scratch_fs {
 public:
  scratch_fs(const std::string& dir, const std::string& size, bool nodev) : dir_(dir) {
    fs::create_directories(dir);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", nodev ? MS_NODEV : 0,
                       ("size=" + size + ",mode=0700").c_str()) == 0;
  }
  ~scratch_fs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  scratch_fs(const scratch_fs&) = delete;
  scratch_fs& operator=(const scratch_fs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

std::vector<tar_entry> files(int count, std::size_t size) {
  std::vector<tar_entry> out;
  for (int i = 0; i < count; ++i)
    out.emplace_back(tar_entry::file, "f" + std::to_string(i), std::string(size, 'x'));
  return out;
}

}  // namespace

TEST_CASE("a layer with more entries than the limit is refused, naming the entry") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  auto layer = write_blob(tmp / "l.tar", berth::test::make_tar(files(11, 1)));
  auto o = named("layer sha256:many");
  o.limits.max_layer_entries = 10;
  CHECK_THAT(refusal(layer, tmp / "root", o),
             Contains("cannot unpack layer sha256:many: it has more than 10 entries, the limit "
                      "per layer ([images] max_layer_entries); layer entry \"f10\" is one more"));
  o.limits.max_layer_entries = 11;
  CHECK(refusal(layer, tmp / "root", o).empty());
}

TEST_CASE("a tar header claiming terabytes is refused before its data is read") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  auto tar = berth::test::make_tar({{tar_entry::file, "big", std::string(100, 'x')}});
  auto layer = write_blob(tmp / "l.tar", berth::test::claim_size(tar, "big", 2ull << 40));
  CHECK_THAT(refusal(layer, tmp / "root", named("layer sha256:tb")),
             Contains("cannot unpack layer sha256:tb: layer entry \"big\" claims 2 TiB, more than "
                      "the 64 GiB an image may unpack to ([images] max_unpacked_size)"));
  CHECK(!fs::exists(tmp / "root/big"));
}

TEST_CASE("an entry with fewer bytes than its header claims is refused as truncated") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  auto tar = berth::test::make_tar({{tar_entry::file, "etc/short", std::string(100, 'x')}});
  auto layer = write_blob(tmp / "l.tar", berth::test::claim_size(tar, "etc/short", 1 << 20));
  CHECK_THAT(refusal(layer, tmp / "root", named("layer sha256:cut")),
             Contains("cannot unpack layer sha256:cut: layer entry \"etc/short\" is truncated: its "
                      "header claims 1048576 bytes, only "));
}

TEST_CASE("a decompression bomb stops at the unpacked-bytes limit") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  // 1 GiB of zeros as a gzip layer of about 1 MiB; the limit stops it at 16 MiB.
  auto layer = write_blob(tmp / "bomb.gz", berth::test::gzip_zeros(1ull << 30));
  CHECK(fs::file_size(layer) < (4 << 20));
  auto o = named("layer sha256:bomb");
  o.limits.max_unpacked_bytes = 16 << 20;
  CHECK_THAT(refusal(layer, tmp / "root", o),
             Contains("cannot unpack layer sha256:bomb: it unpacks to more than the 16 MiB an "
                      "image may unpack to ([images] max_unpacked_size)"));
  CHECK_THROWS_WITH(
      compute_diff_id(layer, o),
      Contains("cannot unpack layer sha256:bomb: it unpacks to more than the 16 MiB"));
  o.unpacked_before = 4 << 20;
  CHECK_THROWS_WITH(
      compute_diff_id(layer, o),
      Contains("with the 4 MiB of the image's earlier layers, it unpacks to more than "
               "the 16 MiB an image may unpack to"));
  o.unpacked_before = 0;
  // The whole stream is read when the limit allows it (members concatenated).
  o.limits.max_unpacked_bytes = 1ll << 30;
  CHECK(compute_diff_id(layer, o).bytes == (1ll << 30));
}

TEST_CASE("earlier layers of the image count against the unpacked-bytes limit") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  auto layer = write_blob(tmp / "l.tar", berth::test::make_tar(files(1, 10 << 20)));
  auto o = named("layer sha256:second");
  o.limits.max_unpacked_bytes = 16 << 20;
  o.unpacked_before = 8 << 20;
  CHECK_THAT(refusal(layer, tmp / "root", o),
             Contains("layer entry \"f0\" claims 10 MiB, more than the 8 MiB left of the 16 MiB "
                      "an image may unpack to ([images] max_unpacked_size)"));
  o.unpacked_before = 0;
  CHECK(refusal(layer, tmp / "root", o).empty());
}

TEST_CASE("unpack_image: a layer over the image's limit leaves no snapshot of it") {
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "copy");
  // Two layers of 10 MiB each under a limit of 16 MiB: the second is refused.
  berth::test::image_spec spec;
  spec.layers.push_back({files(1, 10 << 20), layer_compression::gzip});
  std::vector<tar_entry> second = {{tar_entry::file, "g", std::string(10 << 20, 'y')}};
  spec.layers.push_back({second, layer_compression::gzip});
  berth::test::write_oci_archive(tmp / "img.tar", spec);
  auto img = import_archive(store, tmp / "img.tar").images.at(0).image;
  image_limits limits;
  limits.max_unpacked_bytes = 16 << 20;
  CHECK_THROWS_WITH(unpack_image(store, *snaps, img, limits),
                    Contains("layer entry \"g\" claims 10 MiB, more than the 6289920 bytes left of "
                             "the 16 MiB an image may unpack to"));
  auto left = snaps->list();
  REQUIRE(left.size() == 1);  // the first layer, committed; nothing half-unpacked
  CHECK(left[0].kind == snapshot_kind::committed);
  CHECK(snaps->cleanup() == 0);
}

TEST_CASE("free space: a layer that would leave less than the reserve is refused") {
  berth::test::temp_dir tmp;
  fs::create_directory(tmp / "root");
  auto layer = write_blob(tmp / "l.tar", berth::test::make_tar(files(1, 10)));
  auto o = named("layer sha256:space");
  o.limits.free_space_reserve = free_bytes(tmp / "root") + (std::int64_t{1} << 40);
  CHECK_THAT(refusal(layer, tmp / "root", o),
             Contains("cannot unpack layer sha256:space: it needs at least its compressed size, " +
                      format_bytes(static_cast<std::int64_t>(fs::file_size(layer))) +
                      ", and the file system of " + (tmp / "root") + " has "));
  CHECK_THAT(refusal(layer, tmp / "root", o),
             Contains("free: that would leave less than the reserve of "));
}

TEST_CASE("free space: unpacking stops when the disk falls under the reserve") {
  if (!berth::test::running_as_root()) BERTH_SKIP("needs root (a tmpfs of a known size)");
  berth::test::temp_dir tmp;
  scratch_fs small(tmp / "small", "64m", false);
  REQUIRE(small.mounted());
  fs::create_directory(tmp / "small/root");
  // 60 files of 900 KiB: each below the size checked up front, 54 MiB in all.
  auto layer = write_blob(tmp / "l.tar.gz",
                          berth::test::make_tar(files(60, 900 << 10), layer_compression::gzip));
  auto o = named("layer sha256:fill");
  o.limits.free_space_reserve = 24 << 20;
  auto err = refusal(layer, tmp / "small/root", o);
  CHECK_THAT(err,
             Contains("cannot unpack layer sha256:fill: the free space of the file system of " +
                      (tmp / "small/root") + " fell to "));
  CHECK_THAT(err, Contains(", under the reserve of 24 MiB ([images] free_space_reserve), while "
                           "unpacking layer entry \"f"));
  // A file claiming more than the free space is refused before it is written.
  auto big = write_blob(tmp / "big.tar.gz",
                        berth::test::make_tar(files(1, 60 << 20), layer_compression::gzip));
  fs::remove_all(tmp / "small/root");
  fs::create_directory(tmp / "small/root");
  CHECK_THAT(refusal(big, tmp / "small/root", o),
             Contains("layer entry \"f0\" claims 60 MiB, and the file system of "));
}

TEST_CASE("trusted.* and security.* xattrs from a layer are dropped unless kept by config") {
  if (!berth::test::running_as_root()) BERTH_SKIP("needs root (trusted xattrs)");
  berth::test::temp_dir tmp;
  tar_entry f(tar_entry::file, "f", "data");
  f.xattrs = {{"user.note", "kept"},
              {"trusted.overlay.redirect", "/etc"},
              {"security.capability", std::string("\x01\x00\x00\x02", 4) + std::string(16, '\0')}};
  auto layer = write_blob(tmp / "l.tar", berth::test::make_tar({f}));
  fs::create_directory(tmp / "root");
  auto r = apply_layer(layer, tmp / "root", named("layer sha256:x"));
  CHECK(r.dropped_xattrs ==
        std::vector<std::string>{"security.capability", "trusted.overlay.redirect"});
  char value[64];
  auto path = (tmp / "root/f");
  CHECK(::lgetxattr(path.c_str(), "trusted.overlay.redirect", value, sizeof value) < 0);
  CHECK(::lgetxattr(path.c_str(), "security.capability", value, sizeof value) < 0);
  auto n = ::lgetxattr(path.c_str(), "user.note", value, sizeof value);
  if (n >= 0) CHECK(std::string(value, static_cast<std::size_t>(n)) == "kept");

  fs::create_directory(tmp / "kept");
  auto o = named("layer sha256:x");
  o.limits.keep_privileged_xattrs = true;
  auto kept = apply_layer(layer, tmp / "kept", o);
  CHECK(kept.dropped_xattrs.empty());
  n = ::lgetxattr((tmp / "kept/f").c_str(), "trusted.overlay.redirect", value, sizeof value);
  REQUIRE(n == 4);
  CHECK(std::string(value, 4) == "/etc");
}

TEST_CASE("device nodes in a layer are refused unless the snapshots' file system is nodev") {
  if (!berth::test::running_as_root()) BERTH_SKIP("needs root (mknod, mounts)");
  berth::test::temp_dir tmp;
  tar_entry null_dev(tar_entry::chardev, "dev/null");
  null_dev.dev_major = 1;
  null_dev.dev_minor = 3;
  tar_entry disk(tar_entry::blockdev, "dev/sda");
  disk.dev_major = 8;
  tar_entry whiteout(tar_entry::chardev, "gone");  // 0:0, overlayfs's whiteout
  auto with_null = write_blob(tmp / "null.tar", berth::test::make_tar({null_dev}));
  auto with_disk = write_blob(tmp / "disk.tar", berth::test::make_tar({disk}));
  auto whiteouts = write_blob(tmp / "wh.tar",
                              berth::test::make_tar({whiteout, {tar_entry::file, ".wh.old", ""}}));

  fs::create_directory(tmp / "root");
  REQUIRE(!mounted_nodev(tmp / "root"));
  CHECK_THAT(refusal(with_null, tmp / "root", named("layer sha256:dev")),
             Contains("cannot unpack layer sha256:dev: layer entry \"dev/null\" is a character "
                      "device (1:3); berth creates device nodes from layers only on a file system "
                      "mounted nodev, and " +
                      (tmp / "root") + " is not (containers get /dev from the runtime)"));
  CHECK_THAT(refusal(with_disk, tmp / "root", named("layer sha256:dev")),
             Contains("layer entry \"dev/sda\" is a block device (8:0)"));
  // Whiteouts, the layer's own and those made for .wh. files, still work.
  CHECK(refusal(whiteouts, tmp / "root", named("layer sha256:wh")).empty());
  struct stat st {};
  REQUIRE(::lstat((tmp / "root/old").c_str(), &st) == 0);
  CHECK((S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)));
  REQUIRE(::lstat((tmp / "root/gone").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));

  scratch_fs nodev(tmp / "nodev", "8m", true);
  REQUIRE(nodev.mounted());
  auto small_disk = named("layer sha256:dev");
  small_disk.limits.free_space_reserve = 0;  // the tmpfs is smaller than the default reserve
  CHECK(refusal(with_null, tmp / "nodev", small_disk) == "");
  REQUIRE(::lstat((tmp / "nodev/dev/null").c_str(), &st) == 0);
  CHECK((S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)));
}

TEST_CASE("unpack_image reports the privileged xattrs each layer had dropped, for the log") {
  if (!berth::test::running_as_root()) BERTH_SKIP("needs root (trusted xattrs)");
  berth::test::temp_dir tmp;
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "copy");
  tar_entry f(tar_entry::file, "bin/ping", "elf");
  f.xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4) + std::string(16, '\0')},
              {"user.kept", "1"}};
  berth::test::image_spec spec;
  spec.layers.push_back({{f}, layer_compression::gzip});
  auto built = berth::test::write_oci_archive(tmp / "img.tar", spec);
  auto img = import_archive(store, tmp / "img.tar").images.at(0).image;
  auto report = unpack_image(store, *snaps, img);
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0] == "layer " + built.layer_digests[0] + " of image " +
                                  img.manifest_digest +
                                  ": dropped its extended attributes security.capability "
                                  "(trusted.* and security.* are kept only with [images] "
                                  "keep_privileged_xattrs = true)");
}
