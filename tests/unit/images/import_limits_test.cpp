// Untrusted archives: the limits an import keeps, each refused with the
// limit named, and nothing left in the content store.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/decompressed_stream.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"
#include "tests/support/archive_bombs.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::images;
using berth::test::tar_entry;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::size_t blobs_in(const std::string& root) {
  std::error_code ec;
  auto dir = root + "/content/blobs/sha256";
  if (!fs::exists(dir, ec)) return 0;
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

std::string import_error(const std::string& root, const std::string& archive) {
  content_store store(root);
  try {
    import_archive(store, archive);
  } catch (const images_error& e) {
    return e.what();
  }
  return "";
}

std::string index_of(const std::string& media_type, const std::string& digest, std::size_t size) {
  return R"({"schemaVersion":2,"manifests":[{"mediaType":")" + media_type + R"(","digest":")" +
         digest + R"(","size":)" + std::to_string(size) + "}]}";
}

}  // namespace

TEST_CASE("import: an archive with too many JSON entries is refused before memory grows") {
  berth::test::temp_dir tmp;
  std::vector<tar_entry> entries;
  for (int i = 0; i < 4097; ++i)
    entries.emplace_back(tar_entry::file, "meta/" + std::to_string(i) + ".json", "{}");
  write_file(tmp / "many.tar", berth::test::make_tar(entries));
  auto err = import_error(tmp / "root", tmp / "many.tar");
  CHECK_THAT(err, Contains("more than 4096 JSON entries (the limit on metadata held in memory)"));
  CHECK(blobs_in(tmp / "root") == 0);
}

TEST_CASE("import: JSON entries holding more than 64 MiB in all are refused") {
  berth::test::temp_dir tmp;
  std::vector<tar_entry> entries;
  std::string big(15 << 20, ' ');  // each under the 16 MiB entry limit
  for (int i = 0; i < 5; ++i)
    entries.emplace_back(tar_entry::file, "big" + std::to_string(i) + ".json", big);
  write_file(tmp / "big.tar", berth::test::make_tar(entries));
  auto err = import_error(tmp / "root", tmp / "big.tar");
  CHECK_THAT(err, Contains("JSON entries hold more than 64 MiB"));
}

TEST_CASE("import: indexes nested deeper than 4 are refused") {
  berth::test::temp_dir tmp;
  // index.json → index → index → … each a blob naming the next.
  const std::string index_type = "application/vnd.oci.image.index.v1+json";
  std::vector<tar_entry> entries;
  entries.emplace_back(tar_entry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string inner =
      index_of("application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'a'), 2);
  for (int level = 0; level < 8; ++level) {
    auto digest = sha256_digest(inner);
    entries.emplace_back(tar_entry::file, "blobs/sha256/" + std::string(digest_hex(digest)), inner);
    inner = index_of(index_type, digest, inner.size());
  }
  entries.emplace_back(tar_entry::file, "index.json", inner);
  write_file(tmp / "deep.tar", berth::test::make_tar(entries));
  auto err = import_error(tmp / "root", tmp / "deep.tar");
  CHECK_THAT(err, Contains("is nested deeper than 4 indexes"));
}

TEST_CASE("import: compressions other than gzip and zstd are refused by name") {
  berth::test::temp_dir tmp;
  const std::pair<const char*, std::string> kinds[] = {
      {"xz", std::string("\xFD"
                         "7zXZ\0",
                         6) +
                 "rest"},
      {"bzip2", "BZh91AY&SY"},
      {"lz4", std::string("\x04\x22\x4D\x18", 4) + "rest"},
  };
  for (const auto& [name, bytes] : kinds) {
    INFO(name);
    write_file(tmp / "x.tar", bytes);
    auto err = import_error(tmp / "root", tmp / "x.tar");
    CHECK_THAT(err, Contains(std::string("it is compressed with ") + name));
    CHECK_THROWS_WITH(decompressed_stream(tmp / "x.tar", "layer sha256:x"),
                      Contains(std::string("cannot unpack layer sha256:x: it is compressed with ") +
                               name + "; berth accepts gzip, zstd or uncompressed layers"));
  }
  // gzip, zstd and none are still read.
  write_file(tmp / "plain", "data");
  CHECK(refused_compression(tmp / "plain") == "");
  write_file(tmp / "g.tar", berth::test::make_tar({{tar_entry::file, "a", "b"}},
                                                  berth::test::layer_compression::gzip));
  CHECK(refused_compression(tmp / "g.tar") == "");
}

TEST_CASE("import: an entry claiming more than the free space is refused before it is read") {
  berth::test::temp_dir tmp;
  auto tar = berth::test::make_tar(
      {{tar_entry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
       {tar_entry::file, "blobs/sha256/" + std::string(64, 'b'), std::string(100, 'x')}});
  write_file(tmp / "tb.tar",
             berth::test::claim_size(tar, "blobs/sha256/" + std::string(64, 'b'), 3ull << 40));
  auto err = import_error(tmp / "root", tmp / "tb.tar");
  CHECK_THAT(err, Contains("entry \"blobs/sha256/" + std::string(64, 'b') +
                           "\" claims 3 TiB, and the content store's file system has "));
  CHECK_THAT(err, Contains("free: that would leave less than the reserve of 256 MiB ([images] "
                           "free_space_reserve)"));
  CHECK(blobs_in(tmp / "root") == 0);
  CHECK(fs::is_empty(tmp / "root/content/ingest"));
}

TEST_CASE("import: a docker-archive layer that decompresses past the limit is refused") {
  berth::test::temp_dir tmp;
  // 1 GiB of zeros in about 1 MiB of gzip; the diff id is never reached.
  berth::test::write_docker_with_raw_layer(tmp / "bomb.tar", berth::test::gzip_zeros(1ull << 30),
                                           "sha256:" + std::string(64, 'c'), "bomb:latest");
  content_store store(tmp / "root");
  import_options o;
  o.limits.max_unpacked_bytes = 32 << 20;
  std::string err;
  try {
    import_archive(store, tmp / "bomb.tar", o);
  } catch (const images_error& e) {
    err = e.what();
  }
  CHECK_THAT(err, Contains("cannot import " + (tmp / "bomb.tar") +
                           ": cannot unpack layer \"layer0/layer.tar\": it unpacks to more than "
                           "the 32 MiB an image may unpack to ([images] max_unpacked_size)"));
  CHECK(blobs_in(tmp / "root") == 0);
  CHECK(fs::is_empty(tmp / "root/content/ingest"));
}
