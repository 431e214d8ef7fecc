// Writing images out as an OCI image layout tar (oci-layout, index.json,
// blobs/sha256/...), the format `berth i import`, `ctr i import` and skopeo's
// oci-archive read. Each image is named in index.json twice, as containerd
// does: org.opencontainers.image.ref.name and io.containerd.image.name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::images {

class content_store;

struct export_image {
  std::string name;  // normalised: docker.io/library/busybox:latest
  std::string manifest_digest;
};

// Writes the archive to `path` (created, or truncated): every blob the images
// need, each once. Throws images_error naming the image or blob that failed;
// a partial file is removed.
std::int64_t export_archive(const content_store& store, const std::vector<export_image>& images,
                            const std::string& path);

}  // namespace berth::images
