// berthd's configuration: /etc/berth/config.toml (or --config FILE) with
// every key also a flag; defaults work with no file at all. Only berthd's
// main reads files — the library takes a berth_config.
//
//   root = "/var/lib/berth"          state = "/run/berth"
//   address = "unix:/run/berth/berth.sock"
//   tls_address = "tls://0.0.0.0:7443"  # also serve the API with mutual TLS (docs/security.md)
//   tls_cert = "/etc/berth/tls/server.crt"  tls_key = "…/server.key"  tls_ca = "…/ca.crt"
//   log_level = "info"               group = "berth"        # name or gid
//   shim_binary = "/usr/local/bin/berth-shim"
//   default_runtime = "io.berth.runc.v1"
//   snapshotter = "auto"             # overlay, copy, or auto (copy where overlay cannot mount)
//   shim_timeout_ms = 5000           # deadline of every shim call
//   event_subscriber_limit = 10000   # events a subscriber may leave unreturned
//   event_retention = 100000         # events the log keeps for --since
//   pids_limit = 2048                # of a container that sets none; 0: no limit
//   log_max_size = "10m"             # task log bytes per file before it rotates (or a number)
//   log_max_files = 2                # task log files kept, the current one included
//   [images]                         # what one untrusted image may cost (docs/security.md)
//   max_unpacked_size = "64g"        # bytes an image's layers may unpack to (or a number)
//   max_layer_entries = 1000000      # entries of one layer's tar
//   free_space_reserve = "256m"      # free space import and unpack leave on the disk
//   keep_privileged_xattrs = false   # keep trusted.* and security.* xattrs from layers
//   max_concurrent_downloads = 3     # blobs one pull downloads at once
//   upload_chunk_size = 0            # push larger blobs in chunks of this size; 0: one PUT
//   [registry."registry.example:5000"]  # one registry berth pulls from
//   ca = "/etc/berth/certs/example-ca.crt"  # trusted besides the system's CAs
//   plain_http = false               # HTTP, not HTTPS (as --plain-http)
//   mirrors = ["mirror.example:5000"]  # tried first, in order; then the registry itself
//   [runtimes."io.berth.runc.v1"]
//   runtime = "runc"                 # the OCI runtime: a name on PATH or a path
//   root = "/run/berth/.runtime/io.berth.runc.v1"
//   shim = "/usr/local/bin/berth-shim"
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "actors/daemon/berth.hpp"
#include "actors/images/registry_client.hpp"
#include "schema/log_limits.hpp"

namespace berth {

struct runtime_entry {
  std::string runtime;  // empty: keep the default
  std::string root;
  std::string shim;
};

struct daemon_config {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  std::string address;                    // empty: unix:<state>/berth.sock
  std::string tls_address;                // tls://HOST:PORT, or empty: no TLS endpoint
  std::string tls_cert, tls_key, tls_ca;  // PEM files of the TLS endpoint
  std::string log_level = "info";
  std::string group;
  std::string shim_binary;  // empty: berth-shim beside berthd, else on PATH
  std::string default_runtime = "io.berth.runc.v1";
  std::string snapshotter = "auto";  // overlay, copy or auto
  std::chrono::milliseconds shim_timeout{5000};
  std::int64_t event_subscriber_limit = 10000;
  std::int64_t event_retention = 100000;
  std::int64_t pids_limit = 2048;  // of a container that sets none; 0: none
  log_limits task_logs;            // of containers created without --log-max-size/--log-max-files
  images::image_limits image_limits;                               // [images]
  std::map<std::string, runtime_entry> runtimes;                   // overrides and additions
  std::map<std::string, images::registry_host_config> registries;  // [registry."host:port"]
};

// Reads `path` into cfg. Returns "" or what is wrong ("config.toml:3:1: ...").
// A missing file is an error only when `must_exist`.
std::string load_config_file(const std::string& path, daemon_config& cfg, bool must_exist);

// The library's configuration from the daemon's: runtimes io.berth.runc.v1
// and io.berth.crun.v1 plus those the file adds, every one with its shim.
berth_config to_berth_config(const daemon_config& cfg, const std::string& shim_binary);

}  // namespace berth
