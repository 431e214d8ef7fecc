// Import of image archives into the content store: docker-archive tars
// (`docker save`, `podman save`, skopeo docker-archive:) and OCI image layout
// tars (skopeo oci-archive:, umoci, `ctr images export`). Every blob's digest
// and size is verified; a docker-archive image gets a synthesized OCI manifest
// stored as a blob, so every image is a manifest digest. A failed import
// removes every blob it added.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/images/image_limits.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

class content_store;

struct import_progress {
  std::int64_t bytes_done = 0;   // archive bytes read
  std::int64_t bytes_total = 0;  // the archive's size
  int layers_done = 0;           // layer blobs stored so far
  int layers_total = 0;          // 0 until the manifests are read (after the last entry)
};

struct import_options {
  std::string platform = "linux/amd64";  // os/arch[/variant]
  std::string name;                      // replaces the archive's names (one image only)
  std::function<void(const import_progress&)> progress;
  // Free space: an entry whose header claims more than the content store's
  // file system has above free_space_reserve is refused before its data is
  // read, and a write that brings it under the reserve stops. Unpacked
  // bytes: a docker-archive's layers are decompressed (for their diff ids)
  // up to max_unpacked_bytes per image, no further.
  image_limits limits;
};

struct imported_image {
  std::string name;  // normalised: docker.io/library/busybox:latest
  resolved_image image;
};

struct import_result {
  std::vector<imported_image> images;    // one per name; several may share a manifest
  std::vector<std::string> blobs_added;  // blobs new in the store
};

// Throws images_error with what failed, on which entry or blob, and why.
import_result import_archive(const content_store& store, const std::string& archive_path,
                             const import_options& options = {});

}  // namespace berth::images
