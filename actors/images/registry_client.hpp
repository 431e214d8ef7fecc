// A client of one repository on an OCI distribution registry (registry API
// v2): manifests and indexes by tag or digest, blobs streamed into the
// content store with their digest checked, and the registry's authentication
// (anonymous, basic, bearer tokens from the realm its WWW-Authenticate names).
// libcurl does the HTTP. Every failure is an images_error that names the
// registry, the repository, what was asked for and, from HTTP, the status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::images {

class content_store;
class transfer_loop;

struct registry_credentials {
  std::string username;
  std::string password;
  bool empty() const { return username.empty(); }
};

struct registry_options {
  bool plain_http = false;           // http:// instead of https://
  registry_credentials credentials;  // empty: anonymous
  std::string ca_file;               // a CA trusted besides the system's
  int attempts = 4;                  // per request, on 5xx and connection errors
  long retry_delay_ms = 250;         // doubled after each failed attempt
  // Blobs larger than this are pushed in PATCH requests of this size, then
  // a closing PUT; 0 (the default) pushes each in one PUT, as docker does.
  std::int64_t chunk_size = 0;
  // Where the transfers run: null runs each on the calling thread
  // (curl_easy_perform); berthd's images actor shares one loop.
  std::shared_ptr<transfer_loop> loop;
};

// One registry's entry in berthd's config.toml: [registry."host:port"].
struct registry_host_config {
  std::string ca;                    // a CA file trusted for this registry
  bool plain_http = false;           // talk HTTP to it
  std::vector<std::string> mirrors;  // host[:port] tried first, in order
};

struct fetched_manifest {
  std::string media_type;  // from Content-Type, or the body's mediaType
  std::string digest;      // sha256 of the body, as received
  std::string body;
};

// Where a registry named in an image reference is reached: docker.io is
// served by registry-1.docker.io; any other name is its own host[:port].
std::string registry_host(const std::string& domain);

class registry_client {
 public:
  // `domain` as in the reference ("docker.io", "127.0.0.1:5000"), `repository`
  // without it ("library/busybox").
  registry_client(std::string domain, std::string repository, registry_options options);
  ~registry_client();
  registry_client(const registry_client&) = delete;
  registry_client& operator=(const registry_client&) = delete;

  // GET /v2/<repository>/manifests/<reference>, accepting OCI and Docker
  // schema 2 manifests and indexes. A digest reference is checked against
  // the body. not_found when the registry has no such manifest.
  fetched_manifest get_manifest(const std::string& reference);

  // Streams blob `digest` of `size` bytes into `store`, checking both, and
  // calls `progress` with the bytes received so far. An interrupted transfer
  // resumes from what arrived (a Range request). False when the store
  // already had the blob: nothing is fetched.
  bool fetch_blob(const content_store& store, const std::string& digest, std::int64_t size,
                  const std::function<void(std::int64_t)>& progress = {});

  // Whether the repository has blob `digest` (HEAD).
  bool has_blob(const std::string& digest);

  // Uploads blob `digest` from `store`: one PUT, or chunks (chunk_size) and
  // a closing PUT. With `mount_from` (another repository of the same
  // registry holding it), asks the registry to mount it from there first; a
  // registry that declines gets the upload. True when it was mounted.
  bool push_blob(const content_store& store, const std::string& digest,
                 const std::string& mount_from = {});

  // PUT /v2/<repository>/manifests/<tag> with `body` of `media_type`.
  void put_manifest(const std::string& tag, const std::string& media_type, const std::string& body);

  // "registry 127.0.0.1:5000, repository library/busybox": how errors name it.
  std::string describe() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace berth::images
