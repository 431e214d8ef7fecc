#include "actors/images/image_pull.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "actors/images/content_store.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

namespace {

constexpr int kMaxIndexDepth = 2;  // real images nest one index; a chain is an attack
constexpr std::chrono::milliseconds kReportEvery{100};

struct puller {
  const content_store& store;
  registry_client& registry;
  const pull_options& o;
  std::string name;
  std::string host;  // where `registry` points, for the extra connections
  std::string repository;
  std::mutex reporting;  // reports come from several download threads

  [[noreturn]] void fail(error_kind kind, const std::string& why) const {
    throw images_error(kind, "cannot pull " + name + " from " + registry.describe() + ": " + why);
  }

  void report(const pull_progress& p) {
    std::lock_guard<std::mutex> g(reporting);
    if (o.progress) o.progress(p);
  }

  void blob(registry_client& from, const descriptor& d) {
    report({d.digest, 0, d.size, false, false, {}});
    // At most one report per blob every 100 ms: libcurl hands over 16 KiB at
    // a time, and a report per piece (a message, then a call to the client)
    // cost more than the download itself (bench/run-pull-comparison).
    auto last = std::chrono::steady_clock::now();
    bool fetched = from.fetch_blob(store, d.digest, d.size, [&](std::int64_t done) {
      auto now = std::chrono::steady_clock::now();
      if (now - last < kReportEvery) return;
      last = now;
      report({d.digest, done, d.size, false, false, {}});
    });
    store.add_source(d.digest, host + "/" + repository);
    report({d.digest, d.size, d.size, !fetched, true, {}});
  }

  // Up to o.parallel blobs at once, each further one on a thread and
  // connection of its own; the first failure stops the rest and is thrown.
  void blobs(const std::vector<descriptor>& all) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr failed;
    std::mutex failing;
    auto work = [&](registry_client& from) {
      for (std::size_t i; (i = next++) < all.size();) {
        {
          std::lock_guard<std::mutex> g(failing);
          if (failed) return;
        }
        try {
          blob(from, all[i]);
        } catch (...) {
          std::lock_guard<std::mutex> g(failing);
          if (!failed) failed = std::current_exception();
        }
      }
    };
    std::vector<std::thread> extra;
    std::size_t helpers = std::min<std::size_t>(std::max(o.parallel, 1), all.size());
    for (std::size_t t = 1; t < helpers; ++t)
      extra.emplace_back([&] {
        try {
          registry_client own(host, repository, o.registry);
          work(own);
        } catch (...) {
          std::lock_guard<std::mutex> g(failing);
          if (!failed) failed = std::current_exception();
        }
      });
    work(registry);
    for (auto& t : extra) t.join();
    if (failed) std::rethrow_exception(failed);
  }

  // A manifest that is not an image (an attestation): its blobs, whatever
  // their media types, then its body, so the index is whole when pushed.
  void attachment(const std::string& digest) {
    auto m = registry.get_manifest(digest);
    auto j = parse_json(m.body, "manifest " + m.digest);
    if (!j.is_object())
      fail(error_kind::invalid_argument, "manifest " + m.digest + " is not an object");
    blobs(manifest_blobs(j, m.digest));
    store.write(m.body, m.digest, "manifest " + m.digest);
  }

  // The manifest for the wanted platform, its body in the store; returns its digest.
  std::string manifest(const std::string& reference, int depth) {
    auto m = registry.get_manifest(reference);
    if (is_index_type(m.media_type)) {
      if (depth >= kMaxIndexDepth)
        fail(error_kind::invalid_argument, "image index " + m.digest + " is nested deeper than " +
                                               std::to_string(kMaxIndexDepth) + " indexes");
      auto idx = parse_json(m.body, "image index " + m.digest);
      if (!idx.is_object() || !idx.contains("manifests") || !idx["manifests"].is_array())
        fail(error_kind::invalid_argument, "image index " + m.digest + " has no manifests list");
      std::set<std::string> others;
      if (o.all_platforms) {
        if (depth > 0)
          fail(error_kind::invalid_argument,
               "image index " + m.digest + " is nested in another: pull one platform of it");
        for (std::size_t i = 0; i < idx["manifests"].size(); ++i) {
          auto d = parse_descriptor(idx["manifests"][i], "manifest " + std::to_string(i + 1) +
                                                             " of image index " + m.digest);
          if (is_attestation_platform(d.platform))
            attachment(d.digest);
          else
            manifest(d.digest, depth + 1);
        }
        // Last, so an index in the store always has its manifests beside it.
        store.write(m.body, m.digest, "image index " + m.digest);
        return m.digest;
      }
      for (std::size_t i = 0; i < idx["manifests"].size(); ++i) {
        auto d = parse_descriptor(idx["manifests"][i], "manifest " + std::to_string(i + 1) +
                                                           " of image index " + m.digest);
        if (!d.platform.empty() && !platform_matches(o.platform, d.platform)) {
          others.insert(d.platform);
          continue;
        }
        store.write(m.body, m.digest, "image index " + m.digest);
        return manifest(d.digest, depth + 1);
      }
      std::string list;
      for (const auto& p : others) list += (list.empty() ? "" : ", ") + p;
      fail(error_kind::not_found, "image index " + m.digest + " has no manifest for " + o.platform +
                                      (list.empty() ? "" : " (it has " + list + ")"));
    }
    auto j = parse_json(m.body, "manifest " + m.digest);
    if (!j.is_object() || !j.contains("config") || !j.contains("layers") || !j["layers"].is_array())
      fail(error_kind::invalid_argument, "manifest " + m.digest + " has no config or layers");
    auto config = parse_descriptor(j["config"], "the config of manifest " + m.digest);
    std::vector<descriptor> layers;
    for (std::size_t i = 0; i < j["layers"].size(); ++i)
      layers.push_back(parse_descriptor(
          j["layers"][i], "layer " + std::to_string(i + 1) + " of manifest " + m.digest));
    std::vector<descriptor> all{config};
    for (const auto& l : layers) {
      if (!is_layer_type(l.media_type))
        fail(error_kind::invalid_argument,
             "layer " + l.digest + " has the unsupported media type \"" + l.media_type + "\"");
      all.push_back(l);
    }
    blobs(all);
    // Last, so a manifest in the store always has its blobs beside it.
    store.write(m.body, m.digest, "manifest " + m.digest);
    return m.digest;
  }
};

}  // namespace

reference_parts split_reference(const std::string& normalized) {
  reference_parts p;
  auto slash = normalized.find('/');
  if (slash == std::string::npos)
    throw images_error(error_kind::invalid_argument,
                       "invalid image reference \"" + normalized + "\": no registry in it");
  p.domain = normalized.substr(0, slash);
  std::string rest = normalized.substr(slash + 1);
  if (auto at = rest.find('@'); at != std::string::npos) {
    p.repository = rest.substr(0, at);
    p.reference = rest.substr(at + 1);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    p.repository = rest.substr(0, colon);
    p.reference = rest.substr(colon + 1);
  } else {
    p.repository = rest;
    p.reference = "latest";
  }
  // "name:tag@digest": the digest decides; the tag is only a label.
  if (auto colon = p.repository.rfind(':');
      colon != std::string::npos && p.repository.find('/', colon) == std::string::npos)
    p.repository = p.repository.substr(0, colon);
  return p;
}

pulled_image pull_image(const content_store& store, const std::string& name,
                        const pull_options& options) {
  auto normalized = normalize_image_name(name);
  auto parts = split_reference(normalized);
  auto from = [&](const std::string& host) {
    registry_client registry(host, parts.repository, options.registry);
    puller p{store, registry, options, normalized, host, parts.repository, {}};
    auto digest = p.manifest(parts.reference, 0);
    pulled_image out;
    out.name = normalized;
    out.target = resolve_target(store, digest, "which the registry did not send");
    const auto& only = out.target.manifests.front();
    if (!options.all_platforms && !platform_matches(options.platform, only.platform))
      p.fail(error_kind::not_found, "its only manifest, " + digest + ", is for " + only.platform +
                                        ", not " + options.platform);
    return out;
  };
  for (const auto& mirror : options.mirrors) {
    try {
      return from(mirror);
    } catch (const images_error&) {
      // The registry itself has the last word: its error is the one reported.
    }
  }
  return from(parts.domain);
}

}  // namespace berth::images
