#include "actors/images/image_push.hpp"

#include "actors/images/content_store.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

std::string push_image(const content_store& store, const std::string& manifest_digest,
                       const std::string& target, const push_options& options) {
  auto normalized = normalize_image_name(target);
  auto parts = split_reference(normalized);
  if (parts.reference.rfind("sha256:", 0) == 0)
    throw images_error(error_kind::invalid_argument,
                       "cannot push to " + normalized + ": name a tag to push to, not a digest");
  auto image = resolve_manifest(store, manifest_digest, "which the content store has lost");
  registry_client registry(parts.domain, parts.repository, options.registry);
  auto report = [&](const pull_progress& p) {
    if (options.progress) options.progress(p);
  };
  std::vector<std::pair<std::string, std::int64_t>> blobs;
  for (const auto& l : image.layers) blobs.emplace_back(l.digest, l.size);
  blobs.emplace_back(image.config_digest, store.size(image.config_digest));
  for (const auto& [digest, size] : blobs) {
    report({digest, 0, size, false, false});
    bool there = registry.has_blob(digest);
    if (!there) registry.push_blob(store, digest);
    report({digest, size, size, there, true});
  }
  registry.put_manifest(parts.reference, image.manifest_media_type, store.read(manifest_digest));
  return manifest_digest;
}

}  // namespace berth::images
