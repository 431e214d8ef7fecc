#include "actors/images/archive_import.hpp"

#include <set>

#include "actors/images/archive_reader.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/layer_unpack.hpp"

namespace berth::images {

namespace {

// How deep indexes may nest inside an archive.
constexpr int kMaxIndexDepth = 4;

constexpr char kMissing[] = "which is not in the archive";

// One image found in the archive before names are settled: its manifest and
// the names the archive gives it (full references or bare tags).
struct found_image {
  resolved_image image;
  std::vector<std::string> names;
  std::string bare_tag;  // ref.name "latest" (umoci): a tag without a repository
};

class layout_resolver {
 public:
  layout_resolver(const content_store& store, archive_reader& r, const import_options& o)
      : store_(store), r_(r), o_(o) {}

  std::vector<found_image> resolve() {
    if (r_.has_json("index.json")) return resolve_oci();
    if (r_.has_json("manifest.json")) return resolve_docker();
    r_.fail(
        "it is neither an OCI image layout (no index.json) nor a docker-archive (no "
        "manifest.json)");
  }

  // Every blob reachable from what was resolved (index blobs included).
  std::set<std::string> referenced;

 private:
  std::vector<found_image> resolve_oci() {
    auto index = parse_json(*r_.json_of("index.json"), "index.json of " + r_.path());
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
      r_.fail("index.json has no manifests list");
    std::vector<found_image> out;
    std::set<std::string> other_platforms;
    for (std::size_t i = 0; i < index["manifests"].size(); ++i) {
      auto d = parse_descriptor(index["manifests"][i],
                                "manifest " + std::to_string(i + 1) + " of index.json");
      std::vector<std::string> names;
      std::string bare_tag;
      if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end())
        names.push_back(it->second);
      else if (auto ref = d.annotations.find("org.opencontainers.image.ref.name");
               ref != d.annotations.end()) {
        if (is_bare_tag(ref->second) && ref->second.find(':') == std::string::npos)
          bare_tag = ref->second;
        else
          names.push_back(ref->second);
      }
      auto img = select(d, "index.json", other_platforms);
      if (img) out.push_back({std::move(*img), std::move(names), std::move(bare_tag)});
    }
    if (out.empty()) no_platform("the archive", other_platforms);
    return out;
  }

  // Follows a descriptor to the manifest for the wanted platform, or nothing
  // when it is a manifest for another platform (recorded in `others`).
  std::optional<resolved_image> select(const descriptor& d, const std::string& from,
                                       std::set<std::string>& others, int depth = 0) {
    check_present(d, from);
    if (is_index_type(d.media_type)) {
      // Real images nest one index, at most two; a chain is an attack.
      if (depth >= kMaxIndexDepth)
        r_.fail("image index " + d.digest + " is nested deeper than " +
                std::to_string(kMaxIndexDepth) + " indexes");
      referenced.insert(d.digest);
      auto idx = parse_json(store_.read(d.digest), "image index " + d.digest);
      if (!idx.is_object() || !idx.contains("manifests") || !idx["manifests"].is_array())
        r_.fail("image index " + d.digest + " has no manifests list");
      std::set<std::string> mine;
      for (std::size_t i = 0; i < idx["manifests"].size(); ++i) {
        auto m = parse_descriptor(idx["manifests"][i], "manifest " + std::to_string(i + 1) +
                                                           " of image index " + d.digest);
        if (!m.platform.empty() && !platform_matches(o_.platform, m.platform)) {
          mine.insert(m.platform);
          continue;
        }
        auto img = select(m, "image index " + d.digest, mine, depth + 1);
        if (img) return img;
      }
      no_platform("image index " + d.digest, mine);
    }
    if (!is_manifest_type(d.media_type))
      r_.fail(from + " names " + d.digest + " of unsupported media type \"" + d.media_type + "\"");
    if (!d.platform.empty() && !platform_matches(o_.platform, d.platform)) {
      others.insert(d.platform);
      return std::nullopt;
    }
    auto img = resolve_checked(d.digest);
    if (!platform_matches(o_.platform, img.platform)) {
      others.insert(img.platform);
      return std::nullopt;
    }
    return img;
  }

  [[noreturn]] void no_platform(const std::string& where, const std::set<std::string>& have) {
    std::string list;
    for (const auto& p : have) list += (list.empty() ? "" : ", ") + p;
    throw images_error(error_kind::not_found, "cannot import " + r_.path() + ": " + where +
                                                  " has no manifest for " + o_.platform +
                                                  (list.empty() ? "" : " (it has " + list + ")"));
  }

  void check_present(const descriptor& d, const std::string& from) {
    if (!store_.has(d.digest)) r_.fail(from + " names manifest " + d.digest + ", " + kMissing);
    if (store_.size(d.digest) != d.size)
      r_.fail(from + " gives " + d.digest + " a size of " + std::to_string(d.size) +
              " bytes, the blob has " + std::to_string(store_.size(d.digest)));
  }

  resolved_image resolve_checked(const std::string& manifest) {
    resolved_image img;
    try {
      img = resolve_manifest(store_, manifest, kMissing);
    } catch (const images_error& e) {
      r_.fail(e.what());
    }
    referenced.insert(img.manifest_digest);
    referenced.insert(img.config_digest);
    for (const auto& l : img.layers) referenced.insert(l.digest);
    return img;
  }

  std::vector<found_image> resolve_docker() {
    auto list = parse_json(*r_.json_of("manifest.json"), "manifest.json of " + r_.path());
    if (!list.is_array() || list.empty()) r_.fail("manifest.json lists no images");
    std::vector<found_image> out;
    std::set<std::string> others;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& entry = list[i];
      std::string what = "image " + std::to_string(i + 1) + " of manifest.json";
      if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() ||
          !entry.contains("Layers") || !entry["Layers"].is_array())
        r_.fail(what + " lacks Config or Layers");
      std::string config = store_config(entry["Config"].get<std::string>(), what);
      auto diff_ids = config_diff_ids(config);
      if (diff_ids.size() != entry["Layers"].size())
        r_.fail(what + " has " + std::to_string(entry["Layers"].size()) + " layers, its config " +
                config + " lists " + std::to_string(diff_ids.size()) + " diff ids");
      nlohmann::json layers = nlohmann::json::array();
      std::int64_t unpacked = 0;  // by this image's layers so far
      for (std::size_t i = 0; i < diff_ids.size(); ++i) {
        const auto& l = entry["Layers"][i];
        std::string name = l.is_string() ? l.get<std::string>() : std::string();
        std::string digest = r_.blob_of(name);
        if (digest.empty()) r_.fail(what + " names layer \"" + name + "\", " + kMissing);
        // A docker-archive names layers by path, not digest: the config's
        // diff ids are the only check its content gets.
        std::string diff_id;
        try {
          unpack_options u;
          u.what = "layer \"" + name + "\"";
          u.limits = o_.limits;
          u.unpacked_before = unpacked;
          auto d = compute_diff_id(store_.path(digest), u);
          diff_id = d.diff_id;
          unpacked += d.bytes;
        } catch (const images_error& e) {
          r_.fail(e.what());
        }
        if (diff_id != diff_ids[i])
          r_.fail("layer \"" + name + "\" has diff id " + diff_id + ", its config " + config +
                  " says " + diff_ids[i]);
        layers.push_back({{"mediaType", r_.layer_type_of(name)},
                          {"digest", digest},
                          {"size", store_.size(digest)}});
      }
      // Like containerd: an OCI manifest stands in for the archive's list entry.
      nlohmann::json manifest = {{"schemaVersion", 2},
                                 {"mediaType", media_type::oci_manifest},
                                 {"config",
                                  {{"mediaType", media_type::oci_config},
                                   {"digest", config},
                                   {"size", store_.size(config)}}},
                                 {"layers", layers}};
      auto c = store_.write(manifest.dump(), {}, "synthesized manifest for " + what);
      if (c.created) r_.add(c.digest);
      auto img = resolve_checked(c.digest);
      if (!platform_matches(o_.platform, img.platform)) {
        others.insert(img.platform);
        continue;
      }
      std::vector<std::string> names;
      if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
        for (const auto& t : entry["RepoTags"])
          if (t.is_string()) names.push_back(t.get<std::string>());
      out.push_back({std::move(img), std::move(names), {}});
    }
    if (out.empty()) no_platform("the archive", others);
    return out;
  }

  std::vector<std::string> config_diff_ids(const std::string& config) {
    auto cfg = parse_json(store_.read(config), "config " + config);
    std::vector<std::string> out;
    if (cfg.is_object() && cfg.contains("rootfs") && cfg["rootfs"].is_object() &&
        cfg["rootfs"].contains("diff_ids") && cfg["rootfs"]["diff_ids"].is_array())
      for (const auto& d : cfg["rootfs"]["diff_ids"])
        out.push_back(d.is_string() ? d.get<std::string>() : std::string());
    return out;
  }

  // A docker-archive's config is a plain file named <hex>.json (or a blob in
  // newer archives); its name, when a digest, must match its content.
  std::string store_config(const std::string& name, const std::string& what) {
    if (std::string d = r_.blob_of(name); !d.empty()) return d;
    const std::string* text = r_.json_of(name);
    if (!text) r_.fail(what + " names config \"" + name + "\", " + kMissing);
    std::string expected;
    auto slash = name.rfind('/');
    std::string base = name.substr(slash == std::string::npos ? 0 : slash + 1);
    if (base.size() == 64 + 5 && is_valid_digest("sha256:" + base.substr(0, 64)))
      expected = "sha256:" + base.substr(0, 64);
    try {
      auto c = store_.write(*text, expected, "config \"" + name + "\"");
      if (c.created) r_.add(c.digest);
      return c.digest;
    } catch (const images_error& e) {
      r_.fail(e.what());
    }
  }

  const content_store& store_;
  archive_reader& r_;
  const import_options& o_;
};

std::vector<imported_image> name_images(std::vector<found_image> found, const import_options& o,
                                        const std::string& path) {
  std::vector<imported_image> out;
  if (!o.name.empty()) {
    std::set<std::string> targets;
    for (const auto& f : found) targets.insert(f.image.manifest_digest);
    if (targets.size() > 1)
      throw images_error(error_kind::invalid_argument,
                         "cannot import " + path + ": it holds " + std::to_string(targets.size()) +
                             " images and a name can only be given to one");
    out.push_back({normalize_image_name(o.name), std::move(found.front().image)});
    return out;
  }
  std::set<std::string> seen;
  for (auto& f : found) {
    if (f.names.empty())
      throw images_error(error_kind::invalid_argument,
                         "cannot import " + path + ": image " + f.image.manifest_digest +
                             (f.bare_tag.empty() ? std::string(" has no name in the archive")
                                                 : " is only tagged \"" + f.bare_tag +
                                                       "\", without a repository") +
                             "; give it a name");
    for (const auto& n : f.names) {
      std::string full = normalize_image_name(n);
      if (seen.insert(full).second) out.push_back({full, f.image});
    }
  }
  return out;
}

}  // namespace

import_result import_archive(const content_store& store, const std::string& archive_path,
                             const import_options& options) {
  archive_reader reader(store, archive_path, options);
  try {
    reader.read_all();
    layout_resolver resolver(store, reader, options);
    auto found = resolver.resolve();
    import_result result;
    result.images = name_images(std::move(found), options, archive_path);
    // Blobs this import added that no imported image needs (other platforms,
    // stray files) do not stay.
    for (const auto& d : reader.added()) {
      if (resolver.referenced.count(d))
        result.blobs_added.push_back(d);
      else
        store.remove(d);
    }
    auto& p = reader.progress();
    p.layers_total = 0;
    std::set<std::string> layers;
    for (const auto& img : result.images)
      for (const auto& l : img.image.layers) layers.insert(l.digest);
    p.layers_done = p.layers_total = static_cast<int>(layers.size());
    p.bytes_done = p.bytes_total;
    if (options.progress) options.progress(p);
    return result;
  } catch (...) {
    for (const auto& d : reader.added()) store.remove(d);
    throw;
  }
}

}  // namespace berth::images
