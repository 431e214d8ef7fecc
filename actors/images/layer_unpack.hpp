// Applies one layer (a tar stream, plain, gzip or zstd) to a directory,
// confined to it: no entry may leave the directory by "..", an absolute path,
// a symlink on the way or a hard link to outside. Whiteouts either become
// overlayfs's form (for a layer directory that overlayfs stacks) or delete
// what they name (for a snapshot that is a full copy).
//
// A layer is untrusted input, so unpacking keeps the limits of
// image_limits.hpp, each refusal naming the limit, the layer and the entry:
// entries per layer; unpacked bytes per image (the uncompressed stream, and
// every file size a header claims, checked before its data is read); free
// space (the compressed size before starting, the reserve while writing); a
// file whose data ends before its header's size is truncated. trusted.* and
// security.* extended attributes are dropped (reported, not applied) unless
// kept by the limits; device nodes are created only on a file system
// mounted nodev, refused elsewhere (0:0 character devices, overlayfs's
// whiteouts, are always fine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/images/image_limits.hpp"

namespace berth::images {

enum class whiteout_mode {
  overlay,  // ".wh.NAME" -> 0/0 char device NAME; ".wh..wh..opq" -> trusted.overlay.opaque=y
  remove,   // ".wh.NAME" deletes NAME; ".wh..wh..opq" empties the directory of lower content
};

struct unpack_options {
  whiteout_mode whiteouts = whiteout_mode::overlay;
  std::string expected_diff_id;  // checked when not empty
  std::string what = "layer";    // names the layer in messages, e.g. its digest
  image_limits limits;
  // Bytes the image's earlier layers unpacked to: they count against
  // limits.max_unpacked_bytes too.
  std::int64_t unpacked_before = 0;
};

struct unpack_result {
  std::string diff_id;  // sha256 of the uncompressed tar
  std::int64_t uncompressed_size = 0;
  std::int64_t entries = 0;
  // Names of the trusted.* and security.* extended attributes the layer
  // carried and berth dropped (sorted, each once).
  std::vector<std::string> dropped_xattrs;
};

// The sha256 of the layer's uncompressed stream (its diff id), without
// unpacking it. Throws images_error (invalid_argument) when it cannot be
// decompressed.
std::string compute_diff_id(const std::string& layer_path, const std::string& what = "layer");

struct diff_id_result {
  std::string diff_id;
  std::int64_t bytes = 0;  // the uncompressed stream's length
};
// The same within o.limits: a stream longer than max_unpacked_bytes less
// o.unpacked_before is refused as soon as it gets there (a decompression
// bomb is not decompressed to its end). o.what names the layer.
diff_id_result compute_diff_id(const std::string& layer_path, const unpack_options& o);

// Throws images_error (invalid_argument for a bad or unsafe layer). On failure
// `dir` may hold part of the layer: the caller discards the snapshot.
unpack_result apply_layer(const std::string& layer_path, const std::string& dir,
                          const unpack_options& options = {});

}  // namespace berth::images
