// Pulling an image from a registry into the content store: the manifest (an
// index resolved to the wanted platform), the config and every layer the
// store lacks, each checked against its digest; then the image resolved as an
// import resolves it. The images actor names the result in the store.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/images/archive_import.hpp"
#include "actors/images/registry_client.hpp"

namespace berth::images {

struct pull_progress {
  std::string digest;  // the blob this report is about
  std::int64_t bytes_done = 0;
  std::int64_t bytes_total = 0;
  bool cached = false;       // already in the store: not fetched
  bool done = false;         // the blob is complete
  std::string mounted_from;  // push: the registry mounted it from this repository
};

struct pull_options {
  std::string platform = "linux/amd64";  // os/arch[/variant], chosen from an index
  // Every image manifest of an index (attestations aside), the index kept as
  // the image's target, as ctr's --all-platforms; `platform` is then unused.
  bool all_platforms = false;
  registry_options registry;
  // host[:port] serving the same repositories, tried in order before the
  // registry itself, with the same transport options; a mirror that fails in
  // any way is passed over.
  std::vector<std::string> mirrors;
  int parallel = 3;  // blobs downloaded at once, each on its own connection
  std::function<void(const pull_progress&)> progress;
};

// Where a normalised reference points: "docker.io/library/busybox:latest" is
// domain docker.io, repository library/busybox, reference "latest".
struct reference_parts {
  std::string domain;
  std::string repository;
  std::string reference;  // a tag or a digest
};
reference_parts split_reference(const std::string& normalized);

struct pulled_image {
  std::string name;        // normalised: docker.io/library/busybox:latest
  resolved_target target;  // the platform's manifest, or the whole index
};

// Pulls `name` (normalised here); throws images_error naming the registry,
// repository and blob on any failure. Blobs fetched before a failure stay in
// the store until the next garbage collection.
pulled_image pull_image(const content_store& store, const std::string& name,
                        const pull_options& options = {});

}  // namespace berth::images
