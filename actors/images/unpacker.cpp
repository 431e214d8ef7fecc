#include "actors/images/unpacker.hpp"

#include <random>

#include "actors/images/content_store.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/snapshotter.hpp"

namespace berth::images {

namespace {

std::string nonce() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

}  // namespace

unpack_report unpack_image(const content_store& store, snapshotter& snapshots,
                           const resolved_image& image, const image_limits& limits) {
  unpack_report report;
  std::int64_t unpacked = 0;
  auto chains = chain_ids(image.layers);
  std::string parent;
  for (std::size_t i = 0; i < chains.size(); ++i) {
    const auto& chain = chains[i];
    if (auto s = snapshots.stat(chain); s && s->kind == snapshot_kind::committed) {
      parent = chain;
      continue;
    }
    std::string key = "extract-" + nonce() + "-" + chain;
    snapshots.prepare(key, parent);
    try {
      unpack_options o;
      o.whiteouts = snapshots.whiteouts();
      o.expected_diff_id = image.layers[i].diff_id;
      o.what = "layer " + image.layers[i].digest + " of image " + image.manifest_digest;
      o.limits = limits;
      o.unpacked_before = unpacked;
      auto layer = apply_layer(store.path(image.layers[i].digest), snapshots.apply_dir(key), o);
      unpacked += layer.uncompressed_size;
      if (!layer.dropped_xattrs.empty()) {
        std::string names;
        for (const auto& n : layer.dropped_xattrs) names += (names.empty() ? "" : ", ") + n;
        report.warnings.push_back(o.what + ": dropped its extended attributes " + names +
                                  " (trusted.* and security.* are kept only with [images] "
                                  "keep_privileged_xattrs = true)");
      }
      try {
        snapshots.commit(chain, key);
      } catch (const images_error& e) {
        // Someone else unpacked the same layer meanwhile: use theirs.
        if (e.kind() != error_kind::already_exists) throw;
        snapshots.remove(key);
      }
    } catch (...) {
      if (snapshots.stat(key)) snapshots.remove(key);
      throw;
    }
    ++report.layers_unpacked;
    parent = chain;
  }
  report.chain_id = parent;
  return report;
}

unpack_report prepare_container_snapshot(const content_store& store, snapshotter& snapshots,
                                         const resolved_image& image, const std::string& key,
                                         const image_limits& limits) {
  auto report = unpack_image(store, snapshots, image, limits);
  snapshots.prepare(key, report.chain_id);
  return report;
}

}  // namespace berth::images
