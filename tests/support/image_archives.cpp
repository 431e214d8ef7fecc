#include "tests/support/image_archives.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace berth::test {

namespace {

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + " (is busybox-static installed?)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string layer_media_type(layer_compression c) {
  switch (c) {
    case layer_compression::gzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case layer_compression::zstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case layer_compression::none:
      break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

// The layers as blobs, their diff ids and the config, shared by both formats.
struct image_blobs {
  std::vector<std::string> layers;
  std::vector<std::string> layer_types;
  std::vector<std::string> diff_ids;
  std::string config;
};

image_blobs build_blobs(const image_spec& spec) {
  image_blobs b;
  for (const auto& l : spec.layers) {
    b.diff_ids.push_back(sha256_of(make_tar(l.entries, layer_compression::none)));
    b.layers.push_back(make_tar(l.entries, l.compression));
    b.layer_types.push_back(layer_media_type(l.compression));
  }
  json cfg = {{"architecture", spec.architecture},
              {"os", spec.os},
              {"created", "2024-01-01T00:00:00Z"},
              {"config", {{"Cmd", spec.cmd}, {"Env", spec.env}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", b.diff_ids}}}};
  if (!spec.entrypoint.empty()) cfg["config"]["Entrypoint"] = spec.entrypoint;
  if (!spec.user.empty()) cfg["config"]["User"] = spec.user;
  if (!spec.working_dir.empty()) cfg["config"]["WorkingDir"] = spec.working_dir;
  b.config = cfg.dump();
  return b;
}

struct blob_entry {
  std::string path;
  std::string data;
};

std::string tar_of(const std::vector<blob_entry>& files) {
  std::vector<tar_entry> entries;
  for (const auto& f : files) entries.push_back({tar_entry::file, f.path, f.data, {}, 0644});
  return make_tar(entries);
}

void finish(const std::string& path, std::string tar, const archive_tweaks& t) {
  if (t.truncate_to && t.truncate_to < tar.size()) tar.resize(t.truncate_to);
  write_file(path, tar);
}

json manifest_json(const image_blobs& b, const archive_tweaks& t, built_image& out) {
  json layers = json::array();
  for (std::size_t i = 0; i < b.layers.size(); ++i) {
    std::string type =
        i == 0 && !t.layer_media_type.empty() ? t.layer_media_type : b.layer_types[i];
    layers.push_back(
        {{"mediaType", type}, {"digest", sha256_of(b.layers[i])}, {"size", b.layers[i].size()}});
    out.layer_digests.push_back(sha256_of(b.layers[i]));
  }
  out.config_digest = sha256_of(b.config);
  out.diff_ids = b.diff_ids;
  return {{"schemaVersion", 2},
          {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
          {"config",
           {{"mediaType", "application/vnd.oci.image.config.v1+json"},
            {"digest", out.config_digest},
            {"size", b.config.size()}}},
          {"layers", layers}};
}

std::vector<blob_entry> layer_entries(const image_blobs& b, const archive_tweaks& t) {
  std::vector<blob_entry> files;
  for (std::size_t i = 0; i < b.layers.size(); ++i) {
    if (i + 1 == b.layers.size() && t.omit_layer) continue;
    std::string data = b.layers[i];
    if (i == 0 && t.corrupt_layer) data[data.size() / 2] ^= 0x55;
    files.push_back({"blobs/sha256/" + hex_of(sha256_of(b.layers[i])), data});
  }
  return files;
}

}  // namespace

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string hex_of(const std::string& digest) {
  return digest.substr(7);
}

std::string sha256_of(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += "0123456789abcdef"[md[i] >> 4];
    out += "0123456789abcdef"[md[i] & 0xf];
  }
  return out;
}

std::string make_tar(const std::vector<tar_entry>& entries, layer_compression compression) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == layer_compression::gzip) archive_write_add_filter_gzip(a);
  if (compression == layer_compression::zstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::string out;
  auto append = [](archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open(a, &out, nullptr, append, nullptr) != ARCHIVE_OK)
    throw std::runtime_error(std::string("make_tar: ") + archive_error_string(a));
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, 1700000000, 0);
    switch (e.kind) {
      case tar_entry::file:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, static_cast<la_int64_t>(e.content.size()));
        break;
      case tar_entry::dir:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
      case tar_entry::symlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.link.c_str());
        break;
      case tar_entry::hardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.link.c_str());
        archive_entry_set_size(ae, 0);
        break;
      case tar_entry::fifo:
        archive_entry_set_filetype(ae, AE_IFIFO);
        break;
      case tar_entry::chardev:
      case tar_entry::blockdev:
        archive_entry_set_filetype(ae, e.kind == tar_entry::chardev ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor(ae, e.dev_major);
        archive_entry_set_rdevminor(ae, e.dev_minor);
        break;
    }
    for (const auto& [name, value] : e.xattrs)
      archive_entry_xattr_add_entry(ae, name.c_str(), value.data(), value.size());
    archive_entry_set_perm(ae, e.mode);
    if (archive_write_header(a, ae) != ARCHIVE_OK)
      throw std::runtime_error(std::string("make_tar: ") + archive_error_string(a));
    if (e.kind == tar_entry::file && !e.content.empty() &&
        archive_write_data(a, e.content.data(), e.content.size()) !=
            static_cast<la_ssize_t>(e.content.size()))
      throw std::runtime_error(std::string("make_tar: ") + archive_error_string(a));
    archive_entry_free(ae);
  }
  if (archive_write_close(a) != ARCHIVE_OK)
    throw std::runtime_error(std::string("make_tar: ") + archive_error_string(a));
  archive_write_free(a);
  return out;
}

built_image write_oci_archive(const std::string& path, const image_spec& spec,
                              const archive_tweaks& t) {
  auto b = build_blobs(spec);
  built_image out;
  std::string manifest = manifest_json(b, t, out).dump();
  out.manifest_digest = sha256_of(manifest);
  json desc = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
               {"digest", out.manifest_digest},
               {"size", manifest.size()},
               {"platform", {{"os", spec.os}, {"architecture", spec.architecture}}}};
  if (!t.no_name) desc["annotations"] = {{"org.opencontainers.image.ref.name", spec.name}};
  json index = {{"schemaVersion", 2}, {"manifests", json::array({desc})}};
  std::vector<blob_entry> files = {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"}};
  for (auto& f : layer_entries(b, t)) files.push_back(std::move(f));
  files.push_back({"blobs/sha256/" + hex_of(out.config_digest), b.config});
  files.push_back({"blobs/sha256/" + hex_of(out.manifest_digest), manifest});
  files.push_back({"index.json", index.dump()});
  finish(path, tar_of(files), t);
  return out;
}

std::vector<built_image> write_oci_multiplatform_archive(const std::string& path,
                                                         const std::vector<image_spec>& specs) {
  std::vector<built_image> out;
  std::vector<blob_entry> files = {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"}};
  json manifests = json::array();
  for (const auto& spec : specs) {
    auto b = build_blobs(spec);
    built_image img;
    std::string manifest = manifest_json(b, {}, img).dump();
    img.manifest_digest = sha256_of(manifest);
    for (auto& f : layer_entries(b, {})) files.push_back(std::move(f));
    files.push_back({"blobs/sha256/" + hex_of(img.config_digest), b.config});
    files.push_back({"blobs/sha256/" + hex_of(img.manifest_digest), manifest});
    manifests.push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", img.manifest_digest},
                         {"size", manifest.size()},
                         {"platform", {{"os", spec.os}, {"architecture", spec.architecture}}}});
    out.push_back(img);
  }
  std::string index = json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests",
       manifests}}.dump();
  files.push_back({"blobs/sha256/" + hex_of(sha256_of(index)), index});
  json top = {{"schemaVersion", 2},
              {"manifests",
               json::array({{{"mediaType", "application/vnd.oci.image.index.v1+json"},
                             {"digest", sha256_of(index)},
                             {"size", index.size()},
                             {"annotations",
                              {{"org.opencontainers.image.ref.name", specs.front().name}}}}})}};
  files.push_back({"index.json", top.dump()});
  write_file(path, tar_of(files));
  return out;
}

built_image write_docker_archive(const std::string& path, const image_spec& spec,
                                 const archive_tweaks& t) {
  auto b = build_blobs(spec);
  built_image out;
  manifest_json(b, t, out);  // fills digests
  std::vector<blob_entry> files;
  json layers = json::array();
  for (std::size_t i = 0; i < b.layers.size(); ++i) {
    std::string dir = hex_of(sha256_of(b.diff_ids[i] + std::to_string(i)));
    layers.push_back(dir + "/layer.tar");
    if (i + 1 == b.layers.size() && t.omit_layer) continue;
    std::string data = b.layers[i];
    if (i == 0 && t.corrupt_layer) data[data.size() / 2] ^= 0x55;
    files.push_back({dir + "/VERSION", "1.0"});
    files.push_back({dir + "/layer.tar", data});
  }
  files.push_back({hex_of(out.config_digest) + ".json", b.config});
  json entry = {{"Config", hex_of(out.config_digest) + ".json"}, {"Layers", layers}};
  entry["RepoTags"] = t.no_name ? json::array() : json::array({spec.name});
  files.push_back({"manifest.json", json::array({entry}).dump()});
  finish(path, tar_of(files), t);
  return out;
}

image_layer busybox_base_layer() {
  image_layer l;
  l.compression = layer_compression::gzip;
  auto& e = l.entries;
  e.push_back({tar_entry::dir, "bin/", {}, {}, 0755});
  e.push_back({tar_entry::file, "bin/busybox", read_file("/bin/busybox"), {}, 0755});
  for (const char* applet : {"sh", "ls", "cat", "echo", "id", "true", "find"})
    e.push_back({tar_entry::symlink, std::string("bin/") + applet, {}, "busybox", 0777});
  e.push_back({tar_entry::dir, "etc/", {}, {}, 0755});
  e.push_back({tar_entry::file,
               "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
               "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
               {},
               0644});
  e.push_back({tar_entry::file,
               "etc/group",
               "root:x:0:\nwheel:x:10:alice\nstaff:x:50:bob,alice\nalice:x:1000:\n"
               "nogroup:x:65534:\n",
               {},
               0644});
  e.push_back({tar_entry::file, "etc/layer1.txt", "from layer 1\n", {}, 0640});
  e.push_back({tar_entry::dir, "opaque/", {}, {}, 0755});
  e.push_back({tar_entry::file, "opaque/from-layer1.txt", "layer 1\n", {}, 0644});
  e.push_back({tar_entry::dir, "data/", {}, {}, 0750, 1000, 1000});
  e.push_back({tar_entry::file, "data/a.txt", "shared inode\n", {}, 0600, 1000, 1000});
  e.push_back({tar_entry::hardlink, "data/b.txt", {}, "data/a.txt", 0600, 1000, 1000});
  e.push_back({tar_entry::dir, "tmp/", {}, {}, 01777});
  return l;
}

image_spec busybox_image() {
  image_spec s;
  s.layers.push_back(busybox_base_layer());
  return s;
}

image_spec busybox_three_layer_image() {
  image_spec s;
  s.name = "docker.io/library/busybox:three";
  s.layers.push_back(busybox_base_layer());
  image_layer two;
  two.compression = layer_compression::zstd;
  two.entries = {{tar_entry::dir, "etc/", {}, {}, 0755},
                 {tar_entry::file, "etc/layer2.txt", "from layer 2\n", {}, 0644}};
  s.layers.push_back(two);
  image_layer three;
  three.compression = layer_compression::none;
  three.entries = {{tar_entry::dir, "etc/", {}, {}, 0755},
                   {tar_entry::file, "etc/.wh.layer1.txt", "", {}, 0644},
                   {tar_entry::dir, "opaque/", {}, {}, 0755},
                   {tar_entry::file, "opaque/.wh..wh..opq", "", {}, 0644},
                   {tar_entry::file, "opaque/from-layer3.txt", "layer 3\n", {}, 0644}};
  s.layers.push_back(three);
  return s;
}

}  // namespace berth::test
