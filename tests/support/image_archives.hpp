// Image archives built at test time from busybox-static: layer tars, OCI
// image layout tars and docker-archive tars, plus the broken variants the
// import must refuse. Library berth_test_images (namespace berth::test).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace berth::test {

enum class layer_compression { none, gzip, zstd };

struct tar_entry {
  enum kind_t { file, dir, symlink, hardlink, fifo, chardev, blockdev };
  tar_entry(kind_t k, std::string p, std::string data = {}, std::string target = {},
            unsigned m = 0644, unsigned u = 0, unsigned g = 0)
      : kind(k),
        path(std::move(p)),
        content(std::move(data)),
        link(std::move(target)),
        mode(m),
        uid(u),
        gid(g) {}
  kind_t kind = file;
  std::string path;
  std::string content;  // file data
  std::string link;     // symlink target or hard link target
  unsigned mode = 0644;
  unsigned uid = 0, gid = 0;
  unsigned dev_major = 0, dev_minor = 0;                    // chardev, blockdev
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value (pax SCHILY.xattr)
};

// A tar (compressed as asked) holding `entries` in order, as bytes.
std::string make_tar(const std::vector<tar_entry>& entries,
                     layer_compression compression = layer_compression::none);

struct image_layer {
  std::vector<tar_entry> entries;
  layer_compression compression = layer_compression::gzip;
};

struct image_spec {
  std::vector<image_layer> layers;
  std::string os = "linux", architecture = "amd64";
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd = {"sh"};
  std::vector<std::string> env = {"PATH=/bin"};
  std::string user, working_dir;
  std::string name = "docker.io/library/busybox:latest";  // RepoTags / ref.name
};

// How to break an archive on purpose.
struct archive_tweaks {
  bool corrupt_layer = false;    // the first layer's bytes no longer match its digest
  bool omit_layer = false;       // the manifest names a layer (the last) the archive lacks
  std::string layer_media_type;  // replaces the first layer's media type
  std::size_t truncate_to = 0;   // cut the archive to this many bytes (0: keep all)
  bool no_name = false;          // no ref.name annotation / RepoTags
};

struct built_image {
  std::string manifest_digest;  // OCI archives only
  std::string config_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> diff_ids;
};

// An OCI image layout tar (oci-layout, index.json, blobs/sha256/...).
built_image write_oci_archive(const std::string& path, const image_spec& spec,
                              const archive_tweaks& tweaks = {});
// An OCI layout whose index.json names an image index holding one manifest
// per spec (one platform each); returns the per-spec images in order.
std::vector<built_image> write_oci_multiplatform_archive(const std::string& path,
                                                         const std::vector<image_spec>& specs);
// A docker-archive tar as `docker save` writes it (<id>/layer.tar,
// <config>.json, manifest.json last).
built_image write_docker_archive(const std::string& path, const image_spec& spec,
                                 const archive_tweaks& tweaks = {});

// Layer 1: /bin/busybox and applet links, /etc/passwd and /etc/group (users
// root, nobody, alice), /etc/layer1.txt, /opaque/from-layer1.txt,
// /data/a.txt with hard link /data/b.txt, /tmp (1777). gzip.
image_layer busybox_base_layer();
// The base layer alone.
image_spec busybox_image();
// Base layer; layer 2 (zstd) adds /etc/layer2.txt; layer 3 (plain tar)
// deletes /etc/layer1.txt by whiteout and makes /opaque opaque, adding
// /opaque/from-layer3.txt.
image_spec busybox_three_layer_image();

// "sha256:<hex>" of data.
std::string sha256_of(const std::string& data);
// Writes `data` to `path` (replacing it), or throws naming the path.
void write_file(const std::string& path, const std::string& data);
// The hex part of "sha256:<hex>", as a blob's file name.
std::string hex_of(const std::string& digest);

}  // namespace berth::test
