// A real OCI registry for tests: Debian's docker-registry (distribution 2.8)
// on a free loopback port, storing in a temp dir, optionally with basic auth
// (an htpasswd file made with `htpasswd -B`) and TLS. The destructor stops it.
// Images get in with skopeo (push_oci_archive), as a user's CI would push them.
#pragma once

#include <sys/types.h>

#include <string>

#include "tests/support/busybox_bundle.hpp"

namespace berth::test {

class registry_process {
 public:
  struct options {
    std::string user, password;     // basic auth when set
    std::string tls_cert, tls_key;  // PEM files: HTTPS when set
  };
  registry_process() : registry_process(options{}) {}
  explicit registry_process(options o);
  ~registry_process();
  registry_process(const registry_process&) = delete;
  registry_process& operator=(const registry_process&) = delete;

  // "127.0.0.1:PORT", as it appears in image references.
  const std::string& host() const { return host_; }
  // Where it keeps blobs: <storage>/docker/registry/v2/blobs/sha256/<2>/<hex>/data.
  std::string storage() const { return dir_ / "data"; }
  std::string blob_path(const std::string& digest) const;

  // `skopeo copy` of an OCI archive to host()/repo:tag; returns the manifest digest.
  std::string push_oci_archive(const std::string& archive, const std::string& repo_tag) const;
  // The same with every manifest of the archive's index (skopeo --all);
  // returns the index's digest.
  std::string push_oci_archive_all(const std::string& archive, const std::string& repo_tag) const;

  // The digest of what the registry serves for host()/repo:tag (skopeo
  // inspect --raw, hashed): a manifest's, or an index's as it is.
  std::string tag_digest(const std::string& repo_tag) const;

 private:
  std::string push(const std::string& archive, const std::string& repo_tag,
                   const std::string& flags) const;

  temp_dir dir_{"berth-registry"};
  options o_;
  std::string host_;
  pid_t pid_ = -1;
};

}  // namespace berth::test
