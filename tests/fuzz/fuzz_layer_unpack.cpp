// Fuzz target layer_unpack: the bytes of one image layer (a tar, plain,
// gzip or zstd), applied to a directory as the snapshotters do
// (apply_layer, actors/images/layer_unpack.*): first in overlay form
// (whiteouts become 0/0 devices and opaque xattrs), then again over the
// result in remove form (whiteouts delete), as the copying snapshotter
// stacks layers in one directory.
//
// The directory is below this process's scratch directory
// (fuzz_temp_dir.hpp), beside a canary directory the layer must never
// reach. Refusals are fine: an images_error. Findings: a crash, a sanitizer
// report, any other exception, and an escape: anything created, changed or
// removed beside the target directory.
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "actors/images/images_error.hpp"
#include "actors/images/layer_unpack.hpp"
#include "fuzz_temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace berth::images;

constexpr char kCanaryText[] = "the layer must not reach this file\n";

[[noreturn]] void finding(const std::string& what) {
  std::cerr << "fuzz_layer_unpack: " << what << "\n";
  std::abort();
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    out.insert(it->path().filename().string());
  return out;
}

void check_confined(const std::string& scratch) {
  static const std::set<std::string> expected{"layer", "root", "outside"};
  if (names_in(scratch) != expected)
    finding("the layer created or removed something beside its directory");
  if (names_in(scratch + "/outside") != std::set<std::string>{"canary"})
    finding("the layer changed the directory beside its own");
  struct stat st {};
  if (::lstat((scratch + "/outside/canary").c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_mode & 07777) != 0600)
    finding("the layer replaced or changed the mode of the canary beside its directory");
  std::ifstream in(scratch + "/outside/canary", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str() != kCanaryText) finding("the layer wrote into the canary beside its directory");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string scratch = berth::fuzz::fresh_dir("unpack");
  std::string layer = scratch + "/layer", root = scratch + "/root";
  {
    std::ofstream out(layer, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ::mkdir(root.c_str(), 0755);
  ::mkdir((scratch + "/outside").c_str(), 0700);
  {
    std::ofstream canary(scratch + "/outside/canary", std::ios::binary);
    canary << kCanaryText;
  }
  ::chmod((scratch + "/outside/canary").c_str(), 0600);

  for (auto mode : {whiteout_mode::overlay, whiteout_mode::remove}) {
    unpack_options o;
    o.whiteouts = mode;
    o.what = "fuzzed layer";
    // The scratch directory may be a tmpfs (memory): a bomb stops at 64 MiB,
    // and the free-space reserve does not refuse every input on a small one.
    o.limits.max_unpacked_bytes = 64 << 20;
    o.limits.free_space_reserve = 0;
    try {
      auto r = apply_layer(layer, root, o);
      if (r.entries < 0 || r.uncompressed_size < 0) finding("negative counts in the result");
      if (std::getenv("BERTH_FUZZ_VERBOSE")) std::cerr << "applied " << r.entries << " entries\n";
    } catch (const images_error& e) {
      if (std::getenv("BERTH_FUZZ_VERBOSE")) std::cerr << "refused: " << e.what() << "\n";
    } catch (const std::exception& e) {
      finding(std::string("not an images_error: ") + e.what());
    }
    check_confined(scratch);
  }
  return 0;
}
