#include "actors/images/oci_manifest.hpp"

#include <sys/utsname.h>

#include <set>

#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"

namespace berth::images {

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw images_error(error_kind::invalid_argument, message);
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool is_index_type(const std::string& mt) {
  return mt == media_type::oci_index || mt == media_type::docker_manifest_list;
}
bool is_manifest_type(const std::string& mt) {
  return mt == media_type::oci_manifest || mt == media_type::docker_manifest;
}
bool is_config_type(const std::string& mt) {
  return mt == media_type::oci_config || mt == media_type::docker_config;
}
bool is_layer_type(const std::string& mt) {
  return mt == media_type::oci_layer || mt == media_type::oci_layer_gzip ||
         mt == media_type::oci_layer_zstd || mt == media_type::docker_layer ||
         mt == media_type::docker_layer_gzip;
}

nlohmann::json parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(what + " is not valid JSON: " + e.what());
  }
}

descriptor parse_descriptor(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) bad(what + " is not a descriptor object");
  descriptor d;
  d.media_type = string_field(j, "mediaType");
  d.digest = string_field(j, "digest");
  if (!is_valid_digest(d.digest))
    bad(what + " has digest \"" + d.digest + "\", not sha256: and 64 lowercase hex digits");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<std::int64_t>() < 0)
    bad(what + " (" + d.digest + ") has no valid size");
  d.size = size->get<std::int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object())
    d.platform = platform_string(string_field(*p, "os"), string_field(*p, "architecture"),
                                 string_field(*p, "variant"));
  if (auto a = j.find("annotations"); a != j.end() && a->is_object())
    for (const auto& [k, v] : a->items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  return d;
}

std::string platform_string(const std::string& os, const std::string& arch,
                            const std::string& variant) {
  std::string out = os + "/" + arch;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

bool platform_matches(const std::string& want, const std::string& have) {
  auto split = [](const std::string& s) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      auto slash = s.find('/', start);
      parts.push_back(
          s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    parts.resize(3);
    return parts;
  };
  auto w = split(want), h = split(have);
  if (w[0] != h[0] || w[1] != h[1]) return false;
  return w[2].empty() || h[2].empty() || w[2] == h[2];
}

namespace {

// Manifest or index `digest` from the store as a JSON object; its size in `size`.
nlohmann::json read_manifest(const content_store& store, const std::string& digest,
                             const std::string& missing, std::int64_t& size) {
  if (!store.has(digest))
    throw images_error(error_kind::not_found, "manifest " + digest + " is missing, " + missing);
  std::string text = store.read(digest);
  auto m = parse_json(text, "manifest " + digest);
  if (!m.is_object()) bad("manifest " + digest + " is not a JSON object");
  size = static_cast<std::int64_t>(text.size());
  return m;
}

}  // namespace

namespace {

// resolve_manifest() of a manifest already read (`m`, `size` bytes).
resolved_image resolve_read(const content_store& store, const std::string& digest,
                            const nlohmann::json& m, std::int64_t size, const std::string& missing);

}  // namespace

resolved_image resolve_manifest(const content_store& store, const std::string& digest,
                                const std::string& missing) {
  std::int64_t size = 0;
  auto m = read_manifest(store, digest, missing, size);
  return resolve_read(store, digest, m, size, missing);
}

namespace {

resolved_image resolve_read(const content_store& store, const std::string& digest,
                            const nlohmann::json& m, std::int64_t size,
                            const std::string& missing) {
  resolved_image img;
  img.manifest_digest = digest;
  img.manifest_size = size;
  img.manifest_media_type = string_field(m, "mediaType");
  if (img.manifest_media_type.empty()) img.manifest_media_type = media_type::oci_manifest;
  if (!is_manifest_type(img.manifest_media_type))
    bad("manifest " + digest + " has unsupported media type \"" + img.manifest_media_type + "\"");

  auto present = [&](const descriptor& d, const std::string& role) {
    if (!store.has(d.digest))
      throw images_error(error_kind::not_found,
                         "manifest " + digest + " names " + role + " " + d.digest + ", " + missing);
    auto size = store.size(d.digest);
    if (size != d.size)
      bad("manifest " + digest + " gives " + role + " " + d.digest + " a size of " +
          std::to_string(d.size) + " bytes, the blob has " + std::to_string(size));
  };

  if (!m.contains("config")) bad("manifest " + digest + " has no config");
  auto config = parse_descriptor(m["config"], "the config of manifest " + digest);
  if (!config.media_type.empty() && !is_config_type(config.media_type))
    bad("manifest " + digest + " has a config of unsupported media type \"" + config.media_type +
        "\"");
  present(config, "config");
  img.config_digest = config.digest;

  auto layers = m.find("layers");
  if (layers == m.end() || !layers->is_array()) bad("manifest " + digest + " has no layers list");
  for (std::size_t i = 0; i < layers->size(); ++i) {
    auto d =
        parse_descriptor((*layers)[i], "layer " + std::to_string(i + 1) + " of manifest " + digest);
    if (!is_layer_type(d.media_type))
      bad("manifest " + digest + " names layer " + d.digest + " of unsupported media type \"" +
          d.media_type + "\"");
    present(d, "layer");
    img.layers.push_back({d.digest, d.media_type, d.size, {}});
  }

  auto cfg = parse_json(store.read(config.digest), "config " + config.digest);
  if (!cfg.is_object()) bad("config " + config.digest + " is not a JSON object");
  img.platform = platform_string(string_field(cfg, "os"), string_field(cfg, "architecture"),
                                 string_field(cfg, "variant"));
  auto rootfs = cfg.find("rootfs");
  if (rootfs == cfg.end() || !rootfs->is_object() || !rootfs->contains("diff_ids") ||
      !(*rootfs)["diff_ids"].is_array())
    bad("config " + config.digest + " has no rootfs.diff_ids");
  const auto& diff_ids = (*rootfs)["diff_ids"];
  if (diff_ids.size() != img.layers.size())
    bad("config " + config.digest + " lists " + std::to_string(diff_ids.size()) +
        " diff ids for the " + std::to_string(img.layers.size()) + " layers of manifest " + digest);
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    std::string id = diff_ids[i].is_string() ? diff_ids[i].get<std::string>() : std::string();
    if (!is_valid_digest(id))
      bad("config " + config.digest + " has an invalid diff id \"" + id + "\"");
    img.layers[i].diff_id = id;
  }
  img.total_size = img.manifest_size + config.size;
  for (const auto& l : img.layers) img.total_size += l.size;
  return img;
}

}  // namespace

bool is_attestation_platform(const std::string& platform) {
  return platform.rfind("unknown/", 0) == 0;
}

std::string host_platform() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "linux/amd64";
  if (m == "aarch64") return "linux/arm64";
  if (m == "armv7l") return "linux/arm/v7";
  if (m == "i686" || m == "i386") return "linux/386";
  return "linux/" + m;  // ppc64le, s390x, riscv64: the same names
}

resolved_target resolve_target(const content_store& store, const std::string& digest,
                               const std::string& missing) {
  resolved_target t;
  t.digest = digest;
  auto j = read_manifest(store, digest, missing, t.size);
  t.media_type = string_field(j, "mediaType");
  if (!is_index_type(t.media_type) && !(t.media_type.empty() && j.contains("manifests"))) {
    t.manifests.push_back(resolve_read(store, digest, j, t.size, missing));
    t.media_type = t.manifests.back().manifest_media_type;
    t.total_size = t.manifests.back().total_size;
    return t;
  }
  if (t.media_type.empty()) t.media_type = media_type::oci_index;
  auto list = j.find("manifests");
  if (list == j.end() || !list->is_array()) bad("image index " + digest + " has no manifests list");
  std::set<std::string> counted{digest};
  t.total_size = t.size;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto d = parse_descriptor((*list)[i],
                              "manifest " + std::to_string(i + 1) + " of image index " + digest);
    if (is_attestation_platform(d.platform)) {
      // Pulled with the index; one that is missing (an import that left it
      // out) is only not sent along.
      if (!store.has(d.digest)) continue;
      std::int64_t size = 0;
      auto m = read_manifest(store, d.digest, missing, size);
      attached_manifest a{d, manifest_blobs(m, d.digest)};
      for (const auto& b : a.blobs)
        if (!store.has(b.digest))
          throw images_error(error_kind::not_found, "attestation " + d.digest + " names blob " +
                                                        b.digest + ", " + missing);
      if (counted.insert(d.digest).second) t.total_size += size;
      for (const auto& b : a.blobs)
        if (counted.insert(b.digest).second) t.total_size += b.size;
      t.attached.push_back(std::move(a));
      continue;
    }
    if (is_index_type(d.media_type))
      bad("image index " + digest + " names another index, " + d.digest +
          ", which berth does not keep as one image");
    auto img = resolve_manifest(store, d.digest, missing);
    if (counted.insert(img.manifest_digest).second) t.total_size += img.manifest_size;
    if (counted.insert(img.config_digest).second) t.total_size += store.size(img.config_digest);
    for (const auto& l : img.layers)
      if (counted.insert(l.digest).second) t.total_size += l.size;
    t.manifests.push_back(std::move(img));
  }
  if (t.manifests.empty()) bad("image index " + digest + " lists no image manifest");
  return t;
}

std::vector<descriptor> manifest_blobs(const nlohmann::json& m, const std::string& digest) {
  std::vector<descriptor> out;
  if (m.contains("config"))
    out.push_back(parse_descriptor(m["config"], "the config of manifest " + digest));
  auto layers = m.find("layers");
  if (layers != m.end() && layers->is_array())
    for (std::size_t i = 0; i < layers->size(); ++i)
      out.push_back(parse_descriptor((*layers)[i],
                                     "layer " + std::to_string(i + 1) + " of manifest " + digest));
  return out;
}

const resolved_image& image_for(const resolved_target& t, const std::string& platform) {
  if (t.manifests.size() == 1 && t.digest == t.manifests[0].manifest_digest) return t.manifests[0];
  std::string have;
  for (const auto& m : t.manifests) {
    if (platform_matches(platform, m.platform)) return m;
    have += (have.empty() ? "" : ", ") + m.platform;
  }
  throw images_error(error_kind::not_found, "image index " + t.digest + " has no manifest for " +
                                                platform + " (it has " + have + ")");
}

std::vector<std::string> chain_ids(const std::vector<layer_info>& layers) {
  std::vector<std::string> out;
  for (const auto& l : layers) {
    if (out.empty())
      out.push_back(l.diff_id);
    else
      out.push_back(sha256_digest(out.back() + " " + l.diff_id));
  }
  return out;
}

}  // namespace berth::images
