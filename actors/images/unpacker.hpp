// Unpacking an image into a snapshotter: each layer not yet there is applied
// into a fresh active snapshot on top of the previous layer's committed one,
// its diff id checked, and committed under its chain id. Layers already
// unpacked (by another image sharing them) are skipped.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "actors/images/image_limits.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

class content_store;
class snapshotter;

struct unpack_report {
  std::string chain_id;     // of the top layer: the parent for a container's snapshot
  int layers_unpacked = 0;  // 0 when everything was already there
  // For the log, one per layer that had any: the trusted.* and security.*
  // extended attributes dropped from it, by name.
  std::vector<std::string> warnings;
};

// Throws images_error; a layer that fails leaves no snapshot behind. The
// limits hold per call: the unpacked bytes are those of the layers this
// call unpacks (layers another image already unpacked were bounded then).
unpack_report unpack_image(const content_store& store, snapshotter& snapshots,
                           const resolved_image& image, const image_limits& limits = {});

// Unpacks when needed, then prepares active snapshot `key` for a container on
// top of the image (its mounts: `snapshots.mounts(key)`).
unpack_report prepare_container_snapshot(const content_store& store, snapshotter& snapshots,
                                         const resolved_image& image, const std::string& key,
                                         const image_limits& limits = {});

}  // namespace berth::images
