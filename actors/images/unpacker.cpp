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
                           const resolved_image& image) {
  unpack_report report;
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
      apply_layer(store.path(image.layers[i].digest), snapshots.apply_dir(key), o);
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

std::string prepare_container_snapshot(const content_store& store, snapshotter& snapshots,
                                       const resolved_image& image, const std::string& key) {
  auto report = unpack_image(store, snapshots, image);
  snapshots.prepare(key, report.chain_id);
  return report.chain_id;
}

}  // namespace berth::images
