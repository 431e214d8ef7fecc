// Archive bombs against a real berthd through `berth i import` and
// `berth c create`: each is refused with a message naming the limit, berthd's
// peak RSS stays under 100 MiB, berthd keeps serving (a normal import right
// after works), and nothing is left in the content store, ingest or the
// snapshots. berthd's config.toml sets the unpacked-bytes limit to 64 MiB so
// the decompression bombs are stopped quickly.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "berth_runner.hpp"
#include "tests/support/archive_bombs.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

constexpr long kMaxPeakKiB = 100 * 1024;

// berthd's peak resident set so far (VmHWM), in KiB.
long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Every snapshot record and directory under <root>/snapshots, and any
// temporary mount point left there.
std::set<std::string> snapshots_under(const std::string& root) {
  std::set<std::string> out;
  for (const auto& name : names_in(root + "/snapshots")) {
    fs::path driver = fs::path(root) / "snapshots" / name;
    if (!fs::is_directory(driver) || name.rfind("resolve-", 0) == 0) {
      out.insert(name);
      continue;
    }
    for (const auto& sub : {"metadata", "snapshots"})
      for (const auto& s : names_in(driver / sub)) out.insert(name + "/" + sub + "/" + s);
  }
  return out;
}

struct bombs_fixture {
  temp_dir dir{"berth-bombs"};
  berthd_process daemon{[this] {
    std::string config = dir / "config.toml";
    std::ofstream(config) << "[images]\nmax_unpacked_size = \"64m\"\n";
    berthd_process::options o;
    o.extra_args = {"--config", config};
    return o;
  }()};
  std::string normal = [this] {
    std::string p = dir / "busybox.tar";
    write_oci_archive(p, busybox_image());
    return p;
  }();
  std::set<std::string> normal_blobs;

  berth_result berth(std::vector<std::string> args) {
    return run_berth_at(daemon.address(), std::move(args));
  }

  // The normal image imports; the store then holds its blobs and nothing else.
  void check_serving_and_clean(const std::string& after) {
    INFO("after " << after);
    auto ok = berth({"i", "import", normal});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    auto blobs = names_in(daemon.root() + "/content/blobs/sha256");
    if (normal_blobs.empty()) normal_blobs = blobs;
    CHECK(blobs == normal_blobs);
    CHECK(names_in(daemon.root() + "/content/ingest").empty());
    CHECK(snapshots_under(daemon.root()).empty());
    auto ls = berth({"i", "ls", "-q"});
    CHECK(ls.out == "docker.io/library/busybox:latest\n");
    long peak = peak_rss_kib(daemon.pid());
    INFO("berthd VmHWM " << peak << " KiB");
    CHECK(peak > 0);
    CHECK(peak < kMaxPeakKiB);
  }

  // `berth i import path` is refused with `message`.
  void import_refused(const std::string& path, const std::string& message) {
    auto r = berth({"i", "import", path});
    INFO(r.out);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, Contains(message));
    check_serving_and_clean(path);
  }
};

}  // namespace

// One berthd meets every bomb in turn: its peak RSS is over all of them, and
// each normal import shows it still serves after the one before.
TEST_CASE_METHOD(bombs_fixture, "archive bombs are refused; berthd stays small and clean",
                 "[images][daemon]") {
  check_serving_and_clean("start");

  {
    INFO("many large JSON entries");
    write_json_flood_archive(dir / "json.tar", 5, 15 << 20);
    import_refused(dir / "json.tar",
                   "its JSON entries hold more than 64 MiB (the limit on metadata held in memory)");
  }
  {
    INFO("indexes nested deeper than 4");
    write_nested_index_archive(dir / "deep.tar", 12);
    import_refused(dir / "deep.tar", "is nested deeper than 4 indexes");
  }
  {
    INFO("a tar header claiming terabytes");
    std::string blob = "blobs/sha256/" + std::string(64, 'b');
    auto tar = make_tar({{tar_entry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                         {tar_entry::file, blob, std::string(100, 'x')}});
    std::ofstream(dir / "tb.tar", std::ios::binary) << claim_size(tar, blob, 3ull << 40);
    import_refused(dir / "tb.tar",
                   "entry \"" + blob + "\" claims 3 TiB, and the content store's file system has ");
  }
  {
    INFO("a decompression bomb in a docker-archive");
    // 4 GiB of zeros in about 4 MiB of gzip, decompressed for its diff id.
    write_docker_with_raw_layer(dir / "bomb.tar", gzip_zeros(4ull << 30),
                                "sha256:" + std::string(64, 'c'), "bomb:latest");
    import_refused(dir / "bomb.tar",
                   "cannot unpack layer \"layer0/layer.tar\": it unpacks to more than the 64 MiB "
                   "an image may unpack to ([images] max_unpacked_size)");
  }
  {
    INFO("an unknown compressor");
    std::ofstream(dir / "img.tar.xz", std::ios::binary) << std::string(
                                                               "\xFD"
                                                               "7zXZ\0",
                                                               6)
                                                        << std::string(4096, 'z');
    import_refused(dir / "img.tar.xz",
                   "it is compressed with xz; berth accepts gzip, zstd or an uncompressed tar");
  }
  {
    INFO("layers that are bombs only when unpacked, by c create");
    // An OCI import stores layers as they are; unpacking them for a
    // container meets the limits.
    auto tb_layer =
        claim_size(make_tar({{tar_entry::file, "big", std::string(100, 'x')}}), "big", 3ull << 40);
    write_oci_with_raw_layer(dir / "tb-layer.tar", tb_layer, sha256_of(tb_layer), "tb:layer");
    write_oci_with_raw_layer(dir / "bomb-layer.tar", gzip_zeros(4ull << 30),
                             "sha256:" + std::string(64, 'c'), "bomb:layer");
    for (const auto& [file, image] :
         {std::pair{dir / "tb-layer.tar", std::string("tb:layer")},
          std::pair{dir / "bomb-layer.tar", std::string("bomb:layer")}}) {
      INFO(image);
      auto imported = berth({"i", "import", file});
      INFO(imported.err);
      REQUIRE(imported.exit_code == 0);
      auto created = berth({"c", "create", image, "bomb"});
      CHECK(created.exit_code != 0);
      CHECK_THAT(created.err,
                 Contains(image == "tb:layer"
                              ? "layer entry \"big\" claims 3 TiB, more than the 64 MiB an image "
                                "may unpack to ([images] max_unpacked_size)"
                              : "it unpacks to more than the 64 MiB an image may unpack to"));
      CHECK(berth({"i", "rm", image}).exit_code == 0);
      check_serving_and_clean(image);
    }
  }
}
