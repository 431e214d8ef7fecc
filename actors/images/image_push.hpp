// Pushing an image from the content store to a registry: the layers and the
// config the repository lacks (a HEAD first, so what is there is not sent
// again), then the manifest under the tag.
#pragma once

#include <functional>
#include <string>

#include "actors/images/image_pull.hpp"
#include "actors/images/registry_client.hpp"

namespace berth::images {

struct push_options {
  registry_options registry;
  // Per blob, as a pull reports: `cached` when the registry already had it.
  std::function<void(const pull_progress&)> progress;
};

// Pushes the image whose manifest is `manifest_digest` to `target` (normalised
// here; it must name a tag). Returns the manifest digest the registry now has
// under that tag. Throws images_error naming the registry, repository and blob.
std::string push_image(const content_store& store, const std::string& manifest_digest,
                       const std::string& target, const push_options& options = {});

}  // namespace berth::images
