// images_bench: what the images library costs (issue #6, section Benchmarks).
//
// 1. import of a ~100 MiB image against plain `tar -x`. The image is built
//    here, once, from incompressible (random) and compressible (text) files in
//    several gzip layers, written as an OCI archive by the test support
//    (tests/support/image_archives.hpp). Two paths, interleaved round by
//    round (the order alternates), each into a fresh directory:
//     - import: the images library's real path, as berthd takes it for an
//       import and the first container of the image: import_archive()
//       (every blob copied into the content store, hashed, fsynced, renamed)
//       then unpack_image() (each layer gunzipped, hashed for its diff id and
//       applied into an overlay snapshot, then committed).
//     - tar: GNU `tar -xzf LAYER -C DIR` of the same layer blobs, one after
//       the other, into one fresh directory.
//    Dirty pages are written back (sync) before each timed step, so neither
//    path pays for the other's writeback.
// 2. preparing a container's snapshot on an already unpacked image: the
//    overlay snapshotter's prepare() of a new key, and unpacker's
//    prepare_container_snapshot() (what the images actor calls: it checks
//    every layer is there first); each followed by remove() of the same
//    snapshots, timed apart.
//
// Prints markdown tables on stdout; progress and errors go to stderr.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <random>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/images/unpacker.hpp"
#include "bench/bench_util.hpp"
#include "tests/integration/shim/shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::bench;
using clk = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct options {
  int rounds = 7;
  int prepares = 200;
  int size_mib = 100;
  int layers = 5;
  double random_share = 0.6;  // of the bytes: incompressible files
  double target_ratio = 1.25;
  double target_ms = 2.0;
};

// ---- the image ---------------------------------------------------------------

// Text that gzip shrinks about 4x, like source files, manuals and configs.
std::string text_bytes(std::mt19937_64& rng, std::size_t size) {
  static const char* words[] = {"container", "layer",  "snapshot", "overlay", "config",
                                "runtime",   "berth",  "image",    "digest",  "mount",
                                "process",   "signal", "namespace"};
  std::string out;
  out.reserve(size + 64);
  while (out.size() < size) {
    out += words[rng() % 13];
    out += (rng() % 8 == 0) ? "\n" : " ";
    if (rng() % 16 == 0) out += std::to_string(rng() % 100000);
  }
  out.resize(size);
  return out;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    auto v = rng();
    std::memcpy(&out[i], &v, 8);
  }
  return out;
}

// One layer of `bytes`: random files of 256 KiB to 4 MiB and text files of
// 4 to 64 KiB, spread over a few directories.
test::image_layer make_layer(std::mt19937_64& rng, int index, std::size_t bytes,
                             double random_share) {
  test::image_layer layer;
  layer.compression = test::layer_compression::gzip;
  std::string top = "layer" + std::to_string(index);
  layer.entries.emplace_back(test::tar_entry::dir, top, "", "", 0755);
  for (int d = 0; d < 8; ++d)
    layer.entries.emplace_back(test::tar_entry::dir, top + "/d" + std::to_string(d), "", "", 0755);
  auto random_total = static_cast<std::size_t>(static_cast<double>(bytes) * random_share);
  std::size_t done = 0;
  int n = 0;
  while (done < bytes) {
    bool random = done < random_total;
    std::size_t size = random ? (256 << 10) + rng() % (3840 << 10) : (4 << 10) + rng() % (60 << 10);
    size = std::min(size, bytes - done);
    std::string path =
        top + "/d" + std::to_string(n % 8) + "/" + (random ? "bin" : "txt") + std::to_string(n);
    layer.entries.emplace_back(test::tar_entry::file, path,
                               random ? random_bytes(rng, size) : text_bytes(rng, size));
    done += size;
    ++n;
  }
  return layer;
}

struct bench_image {
  std::string archive;
  std::vector<std::string> layer_paths;  // the gzip layer blobs, for tar
  std::int64_t archive_bytes = 0;
  std::int64_t content_bytes = 0;
  std::size_t files = 0;
};

bench_image build_image(const options& o, const test::temp_dir& dir) {
  std::mt19937_64 rng(6);
  test::image_spec spec;
  spec.name = "docker.io/library/bench:latest";
  std::size_t per_layer = (static_cast<std::size_t>(o.size_mib) << 20) / o.layers;
  bench_image out;
  for (int i = 0; i < o.layers; ++i) {
    spec.layers.push_back(make_layer(rng, i, per_layer, o.random_share));
    out.files += spec.layers.back().entries.size();
  }
  out.content_bytes = static_cast<std::int64_t>(per_layer) * o.layers;
  out.archive = dir / "image.oci.tar";
  auto built = test::write_oci_archive(out.archive, spec);
  out.archive_bytes = static_cast<std::int64_t>(fs::file_size(out.archive));
  // The layer blobs as files of their own, for tar.
  fs::create_directories(dir / "layers");
  auto r = test::run_command({"tar", "-xf", out.archive, "-C", dir / "layers", "blobs"});
  if (r.exit_code != 0) throw std::runtime_error("cannot unpack the archive's blobs: " + r.err);
  for (const auto& d : built.layer_digests)
    out.layer_paths.push_back(dir / ("layers/blobs/sha256/" + d.substr(7)));
  return out;
}

// ---- the two import paths ------------------------------------------------------

struct import_times {
  double total = 0, blobs = 0, unpack = 0;
};

import_times berth_import(const bench_image& img, const std::string& root) {
  import_times t;
  auto t0 = clk::now();
  images::content_store content(root);
  auto snaps = images::make_snapshotter(root, "overlay");
  auto result = images::import_archive(content, img.archive);
  t.blobs = elapsed_ms(t0);
  auto t1 = clk::now();
  images::unpack_image(content, *snaps, result.images.at(0).image);
  t.unpack = elapsed_ms(t1);
  t.total = elapsed_ms(t0);
  return t;
}

double tar_extract(const bench_image& img, const std::string& dir) {
  auto t0 = clk::now();
  fs::create_directories(dir);
  for (const auto& layer : img.layer_paths) {
    auto r = test::run_command({"tar", "-xzf", layer, "-C", dir});
    if (r.exit_code != 0) throw std::runtime_error("tar -x " + layer + ": " + r.err);
  }
  return elapsed_ms(t0);
}

void print_row(const std::string& name, const summary& s) {
  std::cout << "| " << name << " | " << s.n << " | " << fixed(s.median, 1) << " | "
            << fixed(s.p90, 1) << " | " << fixed(s.min, 1) << " | " << fixed(s.max, 1) << " |\n";
}

void import_benchmark(const options& o, const bench_image& img, const test::temp_dir& dir) {
  std::vector<double> imports, blobs, unpacks, tars, ratios;
  for (int round = 0; round < o.rounds; ++round) {
    check_interrupted();
    std::string root = dir / ("import-" + std::to_string(round));
    std::string tree = dir / ("tar-" + std::to_string(round));
    import_times it;
    double tt = 0;
    for (int step = 0; step < 2; ++step) {
      ::sync();
      if ((step == 0) == (round % 2 == 0))
        it = berth_import(img, root);
      else
        tt = tar_extract(img, tree);
    }
    fs::remove_all(root);
    fs::remove_all(tree);
    imports.push_back(it.total);
    blobs.push_back(it.blobs);
    unpacks.push_back(it.unpack);
    tars.push_back(tt);
    ratios.push_back(it.total / tt);
    std::cerr << "round " << round + 1 << ": import " << fixed(it.total, 0) << " ms ("
              << fixed(it.blobs, 0) << " + " << fixed(it.unpack, 0) << "), tar " << fixed(tt, 0)
              << " ms\n";
  }
  auto si = summarize(imports), st = summarize(tars), sr = summarize(ratios);
  double ratio = si.median / st.median;
  std::cout << "### Import of a " << fixed(static_cast<double>(img.content_bytes) / (1 << 20), 0)
            << " MiB image against `tar -x` of its layers\n\n"
            << "- image: " << o.layers << " gzip layers, " << img.files << " entries, "
            << fixed(o.random_share * 100, 0) << "% of the bytes random, the rest text; archive "
            << fixed(static_cast<double>(img.archive_bytes) / (1 << 20), 1) << " MiB\n\n"
            << "| path (ms) | n | median | p90 | min | max |\n|---|---|---|---|---|---|\n";
  print_row("berth import + unpack", si);
  print_row("  of which import (blobs into the content store)", summarize(blobs));
  print_row("  of which unpack (layers into overlay snapshots)", summarize(unpacks));
  print_row("`tar -xzf` of each layer", st);
  std::cout << "\n- import / tar, ratio of medians: " << fixed(ratio, 2)
            << " (median of per-round ratios " << fixed(sr.median, 2)
            << "); import speed = " << fixed(100 / ratio, 0)
            << "% of tar's; target ratio <= " << fixed(o.target_ratio, 2)
            << " (speed >= " << fixed(100 / o.target_ratio, 0)
            << "%): " << (ratio <= o.target_ratio ? "met" : "MISSED") << "\n\n";
}

// ---- preparing container snapshots -----------------------------------------------

void durable_write(const std::string& dir, const std::string& name) {
  std::string temp = dir + "/" + name + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + temp);
  std::string record(120, 'x');
  bool ok = ::write(fd, record.data(), record.size()) == static_cast<ssize_t>(record.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), (dir + "/" + name).c_str()) != 0)
    throw std::runtime_error("cannot write " + temp);
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

void prepare_benchmark(const options& o, const bench_image& img, const test::temp_dir& dir) {
  std::string root = dir / "prepare";
  images::content_store content(root);
  auto snaps = images::make_snapshotter(root, "overlay");
  auto image = images::import_archive(content, img.archive).images.at(0).image;
  auto chain = images::unpack_image(content, *snaps, image).chain_id;
  ::sync();
  std::cout << "### Preparing a container's snapshot (overlay, image already unpacked, " << o.layers
            << " layers)\n\n"
            << "| step (ms) | n | median | p90 | min | max |\n|---|---|---|---|---|---|\n";
  double worst_median = 0;
  for (int series = 0; series < 2; ++series) {
    std::vector<double> prep, rem;
    std::vector<std::string> keys;
    for (int i = 0; i < o.prepares; ++i) {
      check_interrupted();
      std::string key = "default/bench-" + std::to_string(series) + "-" + std::to_string(i);
      auto t0 = clk::now();
      if (series == 0)
        snaps->prepare(key, chain);
      else
        images::prepare_container_snapshot(content, *snaps, image, key);
      prep.push_back(elapsed_ms(t0));
      keys.push_back(key);
    }
    for (const auto& key : keys) {
      auto t0 = clk::now();
      snaps->remove(key);
      rem.push_back(elapsed_ms(t0));
    }
    auto sp = summarize(prep);
    worst_median = std::max(worst_median, sp.median);
    std::string what = series == 0 ? "snapshotter prepare" : "prepare_container_snapshot";
    std::cout << "| " << what << " | " << sp.n << " | " << fixed(sp.median, 2) << " | "
              << fixed(sp.p90, 2) << " | " << fixed(sp.min, 2) << " | " << fixed(sp.max, 2)
              << " |\n";
    auto sr = summarize(rem);
    std::cout << "| remove (after " << what << ") | " << sr.n << " | " << fixed(sr.median, 2)
              << " | " << fixed(sr.p90, 2) << " | " << fixed(sr.min, 2) << " | " << fixed(sr.max, 2)
              << " |\n";
  }
  // The floor under both: what the snapshotter does to make one record
  // durable (a small file written and fsynced, renamed, the directory
  // fsynced), on the same file system.
  std::vector<double> floor;
  std::string meta = root + "/floor";
  fs::create_directories(meta);
  for (int i = 0; i < o.prepares; ++i) {
    auto t0 = clk::now();
    durable_write(meta, "record-" + std::to_string(i));
    floor.push_back(elapsed_ms(t0));
  }
  auto sf = summarize(floor);
  std::cout << "| floor: one small file made durable (write, fsync, rename, fsync dir) | " << sf.n
            << " | " << fixed(sf.median, 2) << " | " << fixed(sf.p90, 2) << " | "
            << fixed(sf.min, 2) << " | " << fixed(sf.max, 2) << " |\n";
  std::cout << "\n- target: prepare <= " << fixed(o.target_ms, 1)
            << " ms median: " << (worst_median <= o.target_ms ? "met" : "MISSED") << "\n\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"images_bench: import against tar -x, and snapshot prepare (issue #6)"};
  options o;
  app.add_option("--rounds", o.rounds, "import rounds (each path once per round)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--prepares", o.prepares, "snapshots prepared per series")
      ->check(CLI::Range(1, 100000));
  app.add_option("--size-mib", o.size_mib, "image content in MiB")->check(CLI::Range(1, 4096));
  app.add_option("--layers", o.layers, "gzip layers")->check(CLI::Range(1, 40));
  app.add_option("--target-ratio", o.target_ratio, "import time / tar time at most");
  app.add_option("--target-ms", o.target_ms, "median prepare at most");
  bool no_import = false, no_prepare = false;
  app.add_flag("--no-import", no_import, "skip the import benchmark");
  app.add_flag("--no-prepare", no_prepare, "skip the prepare benchmark");
  CLI11_PARSE(app, argc, argv);
  setup("images_bench");
  if (!images::overlay_supported()) {
    std::cerr << "images_bench: the kernel has no overlayfs\n";
    return 2;
  }
  try {
    test::temp_dir dir("berth-bench-images");
    std::cerr << "building the image (" << o.size_mib << " MiB, " << o.layers
              << " gzip layers)...\n";
    auto img = build_image(o, dir);
    if (!no_import) import_benchmark(o, img, dir);
    if (!no_prepare) prepare_benchmark(o, img, dir);
  } catch (const std::exception& e) {
    std::cerr << "images_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
