// Fuzz target archive_import: the bytes of an image archive, imported as
// `berth image import` does (import_archive, actors/images/archive_import.*):
// the tar (plain, gzip or zstd), the docker-archive manifest.json or the OCI
// index.json, nested image indexes, manifests, configs, and the layers a
// docker-archive's config names by diff id (decompressed and hashed). Each
// input gets a fresh content store in this process's scratch directory
// (fuzz_temp_dir.hpp); nothing is unpacked (that is target layer_unpack).
//
// Refusals are fine: an images_error. Findings: a crash, a sanitizer
// report, any other exception (the images actor would answer "internal"
// with a library's message instead of naming the archive and the rule), and
// a broken promise of the import: a failed import leaves no blob and no
// ingest file behind; a successful one leaves exactly the blobs its images
// need, each of them readable.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/image_config.hpp"
#include "actors/images/images_error.hpp"
#include "fuzz_temp_dir.hpp"

namespace {

using namespace berth::images;

[[noreturn]] void finding(const std::string& what) {
  std::cerr << "fuzz_archive_import: " << what << "\n";
  std::abort();
}

bool ingest_empty(const content_store& store) {
  std::error_code ec;
  return std::filesystem::is_empty(store.ingest_dir(), ec);
}

void check_success(const content_store& store, const import_result& result) {
  std::set<std::string> needed;
  for (const auto& img : result.images) {
    if (img.name.empty()) finding("an imported image has no name");
    needed.insert(img.image.manifest_digest);
    needed.insert(img.image.config_digest);
    for (const auto& l : img.image.layers) needed.insert(l.digest);
    // What the images actor does next with it: the config gives the process.
    try {
      (void)parse_image_config(store.read(img.image.config_digest));
    } catch (const images_error&) {
    }
  }
  for (const auto& d : needed)
    if (!store.has(d)) finding("imported image needs blob " + d + ", which is not in the store");
  // The store was empty: what it holds now is what the import says it added,
  // and that is what its images reach (index blobs included), nothing else.
  std::set<std::string> added(result.blobs_added.begin(), result.blobs_added.end());
  for (const auto& d : store.list())
    if (!added.count(d)) finding("blob " + d + " stayed in the store though no image needs it");
  if (!ingest_empty(store)) finding("a successful import left files in ingest/");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string dir = berth::fuzz::fresh_dir("import");
  std::string path = dir + "/archive.tar";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  content_store store(dir + "/root");
  import_options options;
  // As in fuzz_layer_unpack: bounded on a tmpfs, not refused by the reserve.
  options.limits.max_unpacked_bytes = 64 << 20;
  options.limits.free_space_reserve = 0;
  options.progress = [](const import_progress& p) {
    if (p.bytes_done < 0 || p.layers_done < 0) finding("progress went negative");
  };
  try {
    auto result = import_archive(store, path, options);
    check_success(store, result);
    if (std::getenv("BERTH_FUZZ_VERBOSE"))
      std::cerr << "imported " << result.images.size() << " image(s)\n";
  } catch (const images_error& e) {
    if (std::getenv("BERTH_FUZZ_VERBOSE")) std::cerr << "refused: " << e.what() << "\n";
    if (!store.list().empty()) finding("a failed import left blobs in the store");
    if (!ingest_empty(store)) finding("a failed import left files in ingest/");
  } catch (const std::exception& e) {
    finding(std::string("not an images_error: ") + e.what());
  }
  return 0;
}
