#include "actors/images/image_push.hpp"

#include <set>

#include "actors/images/content_store.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

namespace {

// Another repository of the target's registry that a pull or push found
// `digest` in: the registry can mount it from there instead of an upload.
std::string mount_source(const content_store& store, const std::string& digest,
                         const reference_parts& target) {
  std::string prefix = target.domain + "/";
  for (const auto& s : store.sources(digest))
    if (s.rfind(prefix, 0) == 0 && s.substr(prefix.size()) != target.repository)
      return s.substr(prefix.size());
  return {};
}

}  // namespace

std::string push_image(const content_store& store, const std::string& manifest_digest,
                       const std::string& target, const push_options& options) {
  auto normalized = normalize_image_name(target);
  auto parts = split_reference(normalized);
  if (parts.reference.rfind("sha256:", 0) == 0)
    throw images_error(error_kind::invalid_argument,
                       "cannot push to " + normalized + ": name a tag to push to, not a digest");
  auto image = resolve_target(store, manifest_digest, "which the content store has lost");
  registry_client registry(parts.domain, parts.repository, options.registry);
  auto report = [&](const pull_progress& p) {
    if (options.progress) options.progress(p);
  };
  std::set<std::string> sent;
  for (const auto& m : image.manifests) {
    std::vector<std::pair<std::string, std::int64_t>> blobs;
    for (const auto& l : m.layers) blobs.emplace_back(l.digest, l.size);
    blobs.emplace_back(m.config_digest, store.size(m.config_digest));
    for (const auto& [digest, size] : blobs) {
      if (!sent.insert(digest).second) continue;
      report({digest, 0, size, false, false, {}});
      bool there = registry.has_blob(digest);
      std::string mounted;
      if (!there) {
        auto from = mount_source(store, digest, parts);
        if (registry.push_blob(store, digest, from)) mounted = from;
      }
      store.add_source(digest, parts.domain + "/" + parts.repository);
      report({digest, size, size, there, true, mounted});
    }
    // An index's manifests go by digest, before the index that names them.
    if (image.manifests.size() > 1 || m.manifest_digest != image.digest)
      registry.put_manifest(m.manifest_digest, m.manifest_media_type,
                            store.read(m.manifest_digest));
  }
  for (const auto& a : image.attached) {
    for (const auto& b : a.blobs) {
      if (!sent.insert(b.digest).second || registry.has_blob(b.digest)) continue;
      registry.push_blob(store, b.digest, mount_source(store, b.digest, parts));
      store.add_source(b.digest, parts.domain + "/" + parts.repository);
    }
    registry.put_manifest(a.manifest.digest, a.manifest.media_type, store.read(a.manifest.digest));
  }
  registry.put_manifest(parts.reference, image.media_type, store.read(manifest_digest));
  return manifest_digest;
}

}  // namespace berth::images
