// Hostile image archives for the limits tests: each is what an attacker
// would hand berth to exhaust its memory, disk or time. Small on disk (the
// decompression bomb is a few MiB of gzip); part of berth_test_images.
#pragma once

#include <cstdint>
#include <string>

namespace berth::test {

// `tar` (uncompressed) with the header of entry `path` claiming `claimed`
// bytes (base-256, so terabytes fit) while the data that follows stays as it
// was: a header claiming more than the archive holds.
std::string claim_size(std::string tar, const std::string& path, std::uint64_t claimed);

// gzip that decompresses to `bytes` zero bytes: one member of up to 64 MiB
// of zeros, compressed once (streaming, never held uncompressed) and
// repeated; decompressors read concatenated members as one stream.
std::string gzip_zeros(std::uint64_t bytes);

// An OCI layout with one image of one layer whose blob is `layer` as given
// (media type from its first bytes: gzip, zstd or a plain tar), its config
// naming `diff_id`; the image is named `name`.
void write_oci_with_raw_layer(const std::string& path, const std::string& layer,
                              const std::string& diff_id, const std::string& name);
// The same as a docker-archive (<dir>/layer.tar, config, manifest.json).
void write_docker_with_raw_layer(const std::string& path, const std::string& layer,
                                 const std::string& diff_id, const std::string& name);

// An OCI layout whose index.json starts a chain of `depth` image indexes,
// each naming the next (the last names a manifest that is missing).
void write_nested_index_archive(const std::string& path, int depth);

// A tar of `count` JSON entries of `size` bytes each (spaces).
void write_json_flood_archive(const std::string& path, int count, std::size_t size);

}  // namespace berth::test
