// `berth images pull` and `push`: images moved through berthd from and to
// registries, with per-blob progress, and the credentials a docker user would
// expect to be used (--user, else the docker config file's `auths`).
#pragma once

#include <iostream>
#include <optional>
#include <string>

#include "cli/daemon_client.hpp"

namespace berth::cli {

struct pull_options {
  std::string reference;
  std::string platform;
  std::string user;  // USER[:PASSWORD]; empty: the docker config, else anonymous
  bool plain_http = false;
  bool all_platforms = false;  // every platform of an index
};

struct registry_login {
  std::string username;
  std::string password;
};

// The login for `registry` (a host[:port] as in the reference; docker.io also
// matches https://index.docker.io/v1/) from a docker config.json's `auths`,
// whose entries hold base64 "user:password" in `auth`. Nothing when absent.
std::optional<registry_login> login_from_docker_config(const std::string& config_json,
                                                       const std::string& registry);

// The registry a reference names, as docker reads it: "busybox" and
// "library/busybox" -> "docker.io", "host:5000/app" -> "host:5000".
std::string registry_of(const std::string& reference);

// Pulls `o.reference`; "pulled NAME (DIGEST)" goes to `out`.
int pull_image(daemon_client& client, const pull_options& o, std::ostream& out = std::cout);

struct push_options {
  std::string target;  // REF: where to
  std::string local;   // LOCAL_REF: which image; empty: the same as REF
  std::string user;
  bool plain_http = false;
};

// Pushes the local image to `o.target`; prints "pushed REF (DIGEST)".
int push_image(daemon_client& client, const push_options& o);

// What `--pull POLICY` of run and create does before the container is made:
// "always" pulls, "missing" pulls when berthd has no image of that name,
// "never" does nothing. Progress and the pulled line go to stderr, so a
// run's stdout stays the container's.
void ensure_image(daemon_client& client, const std::string& image, const std::string& policy);

}  // namespace berth::cli
