// Applies one layer (a tar stream, plain, gzip or zstd) to a directory,
// confined to it: no entry may leave the directory by "..", an absolute path,
// a symlink on the way or a hard link to outside. Whiteouts either become
// overlayfs's form (for a layer directory that overlayfs stacks) or delete
// what they name (for a snapshot that is a full copy).
#pragma once

#include <cstdint>
#include <string>

namespace berth::images {

enum class whiteout_mode {
  overlay,  // ".wh.NAME" -> 0/0 char device NAME; ".wh..wh..opq" -> trusted.overlay.opaque=y
  remove,   // ".wh.NAME" deletes NAME; ".wh..wh..opq" empties the directory of lower content
};

struct unpack_options {
  whiteout_mode whiteouts = whiteout_mode::overlay;
  std::string expected_diff_id;  // checked when not empty
  std::string what = "layer";    // names the layer in messages, e.g. its digest
};

struct unpack_result {
  std::string diff_id;  // sha256 of the uncompressed tar
  std::int64_t uncompressed_size = 0;
  std::int64_t entries = 0;
};

// The sha256 of the layer's uncompressed stream (its diff id), without
// unpacking it. Throws images_error (invalid_argument) when it cannot be
// decompressed.
std::string compute_diff_id(const std::string& layer_path, const std::string& what = "layer");

// Throws images_error (invalid_argument for a bad or unsafe layer). On failure
// `dir` may hold part of the layer: the caller discards the snapshot.
unpack_result apply_layer(const std::string& layer_path, const std::string& dir,
                          const unpack_options& options = {});

}  // namespace berth::images
