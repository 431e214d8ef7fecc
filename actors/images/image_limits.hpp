// What one untrusted image may cost berth while it is imported and unpacked,
// and which of a layer's privileged contents berth keeps. Every limit a
// refusal names here is also a key of config.toml's [images] table (named in
// the messages), so a person who hits one knows what to raise.
#pragma once

#include <cstdint>
#include <string>

namespace berth::images {

struct image_limits {
  // Entries (files, directories, links, whiteouts) of one layer's tar.
  std::int64_t max_layer_entries = 1'000'000;  // [images] max_layer_entries
  // Bytes all layers of one image may unpack to: the uncompressed tar
  // streams, and the sizes their file headers claim.
  std::int64_t max_unpacked_bytes = std::int64_t{64} << 30;  // [images] max_unpacked_size
  // Free space (for unprivileged use) that import and unpack leave on the
  // file system of the content store and the snapshots: a layer that would
  // go below it is refused, one that gets there is stopped.
  std::int64_t free_space_reserve = std::int64_t{256} << 20;  // [images] free_space_reserve
  // Keep trusted.* and security.* extended attributes from layers (overlay's
  // own metadata, file capabilities, SELinux labels); dropped otherwise.
  bool keep_privileged_xattrs = false;  // [images] keep_privileged_xattrs
  // Blobs one pull downloads at once, each on a connection of its own.
  int max_concurrent_downloads = 3;  // [images] max_concurrent_downloads
  // A push sends blobs larger than this in chunks of this size (PATCH),
  // for registries or proxies that limit a request's body; 0: one PUT each.
  std::int64_t upload_chunk_size = 0;  // [images] upload_chunk_size
};

// Bytes an unprivileged writer may still use on the file system holding
// `path` (statvfs f_bavail); throws images_error naming `path`.
std::int64_t free_bytes(const std::string& path);

// Whether the file system holding `path` is mounted nodev (device nodes on
// it cannot be opened). Throws images_error naming `path`.
bool mounted_nodev(const std::string& path);

// "64 GiB", "100 bytes": a size for messages; the exact byte count when it
// is not a whole number of KiB, MiB, GiB or TiB ("1099511627777 bytes").
std::string format_bytes(std::int64_t bytes);

}  // namespace berth::images
