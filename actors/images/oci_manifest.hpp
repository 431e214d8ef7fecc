// OCI and docker manifests as berth reads them: descriptors, the media types
// it accepts, platform matching, and an image resolved from its manifest
// digest (config + layers + diff ids), all checked against the content store.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace berth::images {

class content_store;

namespace media_type {
inline constexpr char oci_index[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char oci_manifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char oci_config[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char oci_layer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char oci_layer_gzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char oci_layer_zstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char docker_manifest_list[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char docker_manifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char docker_config[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char docker_layer_gzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char docker_layer[] = "application/vnd.docker.image.rootfs.diff.tar";
}  // namespace media_type

bool is_index_type(const std::string& mt);
bool is_manifest_type(const std::string& mt);
bool is_config_type(const std::string& mt);
bool is_layer_type(const std::string& mt);

struct descriptor {
  std::string media_type;
  std::string digest;
  std::int64_t size = 0;
  std::string platform;  // "os/arch[/variant]" or empty
  std::map<std::string, std::string> annotations;
};

// Parses one descriptor; `what` names it in errors (invalid_argument).
descriptor parse_descriptor(const nlohmann::json& j, const std::string& what);

// "linux/amd64" from an os/arch/variant triple; the variant only when set.
std::string platform_string(const std::string& os, const std::string& arch,
                            const std::string& variant);

// True when an image of `have` runs on `want` ("linux/arm64" matches
// "linux/arm64/v8"; an empty variant on either side matches any).
bool platform_matches(const std::string& want, const std::string& have);

struct layer_info {
  std::string digest;
  std::string media_type;
  std::int64_t size = 0;
  std::string diff_id;  // from the config's rootfs.diff_ids
};

// An image resolved from one manifest, every blob present and the right size.
struct resolved_image {
  std::string manifest_digest;
  std::string manifest_media_type;
  std::int64_t manifest_size = 0;
  std::string config_digest;
  std::string platform;  // from the config
  std::vector<layer_info> layers;
  std::int64_t total_size = 0;  // manifest + config + layers
};

// Parses JSON, naming `what` on failure (invalid_argument).
nlohmann::json parse_json(const std::string& text, const std::string& what);

// Reads and checks the manifest `digest` and everything it names. `missing`
// is how a blob absent from the store is described ("which is not in the
// archive" during import). Throws images_error.
resolved_image resolve_manifest(const content_store& store, const std::string& digest,
                                const std::string& missing = "which is not in the content store");

// Manifests in an index that are not images: attestations and signatures
// ("unknown/unknown"), which berth neither fetches nor runs.
bool is_attestation_platform(const std::string& platform);

// The platform this machine runs ("linux/amd64", "linux/arm64", ...).
std::string host_platform();

// A manifest an index lists that is not an image (an attestation): kept,
// pushed and exported with the index, never run. Its blobs may be of any type.
struct attached_manifest {
  descriptor manifest;
  std::vector<descriptor> blobs;  // config and layers
};

// The config and layer descriptors of manifest `m` (digest `digest`), of any
// media type: for manifests that are not images.
std::vector<descriptor> manifest_blobs(const nlohmann::json& m, const std::string& digest);

// What an image record names: one manifest, or an index whose manifests
// were all pulled (--all-platforms). A nested index is refused.
struct resolved_target {
  std::string digest;
  std::string media_type;
  std::int64_t size = 0;
  std::vector<resolved_image> manifests;    // one for a manifest target
  std::vector<attached_manifest> attached;  // an index's attestations in the store
  std::int64_t total_size = 0;              // every blob once
};
resolved_target resolve_target(const content_store& store, const std::string& digest,
                               const std::string& missing = "which is not in the content store");

// The manifest for `platform` among `t`'s; not_found naming those there are.
const resolved_image& image_for(const resolved_target& t, const std::string& platform);

// The chain ids of an image's layers: chain[0] = diff_id[0],
// chain[n] = sha256(chain[n-1] + " " + diff_id[n]).
std::vector<std::string> chain_ids(const std::vector<layer_info>& layers);

}  // namespace berth::images
