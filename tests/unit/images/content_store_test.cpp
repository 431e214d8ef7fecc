// The content store on a real directory: verified writes, nothing partial
// visible, digest validation before paths, garbage collection.
#include <catch2/catch.hpp>

#include <filesystem>

#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {
std::size_t files_in(const std::string& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
}  // namespace

TEST_CASE("content_store writes a blob under its digest and reads it back") {
  berth::test::temp_dir root;
  content_store store(root.path());
  auto c = store.write("hello");
  CHECK(c.digest == berth::test::sha256_of("hello"));
  CHECK(c.created);
  CHECK(store.has(c.digest));
  CHECK(store.read(c.digest) == "hello");
  CHECK(store.size(c.digest) == 5);
  CHECK(store.path(c.digest) == root.path() + "/content/blobs/sha256/" + c.digest.substr(7));
  CHECK_FALSE(store.write("hello").created);  // same content, already there
  CHECK(files_in(store.ingest_dir()) == 0);
}

TEST_CASE("content_store refuses a digest mismatch and leaves nothing behind") {
  berth::test::temp_dir root;
  content_store store(root.path());
  std::string wrong = berth::test::sha256_of("other");
  try {
    store.write("hello", wrong, "test blob");
    FAIL("accepted a wrong digest");
  } catch (const images_error& e) {
    CHECK(e.kind() == error_kind::invalid_argument);
    CHECK(std::string(e.what()) == "digest mismatch for test blob: expected " + wrong +
                                       ", content is " + berth::test::sha256_of("hello"));
  }
  CHECK(files_in(store.blobs_dir()) == 0);
  CHECK(files_in(store.ingest_dir()) == 0);
}

TEST_CASE("content_store: an abandoned write is never visible") {
  berth::test::temp_dir root;
  content_store store(root.path());
  {
    auto w = store.begin_write();
    w.write("partial");
    CHECK(files_in(store.ingest_dir()) == 1);
    CHECK(files_in(store.blobs_dir()) == 0);
  }
  CHECK(files_in(store.ingest_dir()) == 0);
  CHECK(files_in(store.blobs_dir()) == 0);
}

TEST_CASE("content_store checks the size it was promised") {
  berth::test::temp_dir root;
  content_store store(root.path());
  auto w = store.begin_write({}, 10, "layer x");
  w.write("short");
  CHECK_THROWS_WITH(w.commit(), "size mismatch for layer x: expected 10 bytes, got 5");
  CHECK(files_in(store.blobs_dir()) == 0);
}

TEST_CASE("content_store validates digests before they become paths") {
  berth::test::temp_dir root;
  content_store store(root.path());
  for (std::string bad :
       std::vector<std::string>{"sha256:../../etc/passwd", "sha256:ABC", "md5:00",
                                "sha256:" + std::string(64, 'A'), std::string("")}) {
    CHECK_THROWS_WITH(store.has(bad), "\"" + bad +
                                          "\" is not a digest (expected sha256: and 64 lowercase "
                                          "hex digits)");
  }
  std::string absent = berth::test::sha256_of("absent");
  CHECK_FALSE(store.has(absent));
  CHECK_THROWS_WITH(store.read(absent), "blob " + absent + " not found in the content store");
}

TEST_CASE("content_store collects unreferenced blobs") {
  berth::test::temp_dir root;
  content_store store(root.path());
  auto keep = store.write("keep").digest;
  auto drop = store.write("drop me").digest;
  auto r = store.collect_garbage({keep});
  REQUIRE(r.removed == std::vector<std::string>{drop});
  CHECK(r.bytes_freed == 7);
  CHECK(store.has(keep));
  CHECK_FALSE(store.has(drop));
}
