#include "actors/daemon/daemon_config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <limits>
#include <stdexcept>

namespace berth {

namespace {

// A size key of `table` ("64g" or a number of bytes) into `out`; "" or why not.
std::string size_key(const toml::table& table, const char* key, std::int64_t& out) {
  auto node = table[key];
  if (!node) return "";
  std::string what = std::string("images.") + key;
  if (auto n = node.value<int64_t>()) {
    if (*n < 0) return what + " must not be negative";
    out = *n;
    return "";
  }
  if (auto v = node.value<std::string>()) {
    std::uint64_t bytes = 0;
    try {
      bytes = parse_log_size(*v, what);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    if (bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return what + " \"" + *v + "\" is too large";
    out = static_cast<std::int64_t>(bytes);
    return "";
  }
  return what + " must be a size (\"64g\") or a number of bytes";
}

std::string load_image_limits(const toml::table& images, images::image_limits& l) {
  for (auto [key, out] : {std::pair{"max_unpacked_size", &l.max_unpacked_bytes},
                          std::pair{"free_space_reserve", &l.free_space_reserve},
                          std::pair{"upload_chunk_size", &l.upload_chunk_size}})
    if (auto why = size_key(images, key, *out); !why.empty()) return why;
  if (auto node = images["max_layer_entries"]; node) {
    auto n = node.value<int64_t>();
    if (!n || *n <= 0) return "images.max_layer_entries must be a positive number";
    l.max_layer_entries = *n;
  }
  if (auto node = images["max_concurrent_downloads"]; node) {
    auto n = node.value<int64_t>();
    if (!n || *n <= 0 || *n > 64)
      return "images.max_concurrent_downloads must be a number from 1 to 64";
    l.max_concurrent_downloads = static_cast<int>(*n);
  }
  if (auto node = images["keep_privileged_xattrs"]; node) {
    auto b = node.value<bool>();
    if (!b) return "images.keep_privileged_xattrs must be true or false";
    l.keep_privileged_xattrs = *b;
  }
  return "";
}

}  // namespace

std::string load_config_file(const std::string& path, daemon_config& cfg, bool must_exist) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return must_exist ? path + ": no such file" : "";
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
           std::string(e.description());
  }
  std::string problem;
  auto text = [&](const char* key, std::string& out) {
    if (auto node = t[key]; node) {
      if (auto v = node.value<std::string>())
        out = *v;
      else
        problem = path + ": " + key + " must be a string";
    }
  };
  text("root", cfg.root);
  text("state", cfg.state);
  text("address", cfg.address);
  text("tls_address", cfg.tls_address);
  text("tls_cert", cfg.tls_cert);
  text("tls_key", cfg.tls_key);
  text("tls_ca", cfg.tls_ca);
  text("log_level", cfg.log_level);
  text("shim_binary", cfg.shim_binary);
  text("default_runtime", cfg.default_runtime);
  text("snapshotter", cfg.snapshotter);
  if (auto g = t["group"]; g) {
    if (auto s = g.value<std::string>())
      cfg.group = *s;
    else if (auto n = g.value<int64_t>())
      cfg.group = std::to_string(*n);
  }
  if (auto ms = t["shim_timeout_ms"].value<int64_t>()) {
    if (*ms <= 0) return path + ": shim_timeout_ms must be positive";
    cfg.shim_timeout = std::chrono::milliseconds(*ms);
  }
  for (auto [key, out] : {std::pair{"event_subscriber_limit", &cfg.event_subscriber_limit},
                          std::pair{"event_retention", &cfg.event_retention}}) {
    if (auto n = t[key].value<int64_t>()) {
      if (*n <= 0) return path + ": " + key + " must be positive";
      *out = *n;
    }
  }
  if (auto n = t["pids_limit"]; n) {
    auto v = n.value<int64_t>();
    if (!v || *v < 0) return path + ": pids_limit must be a number of processes, 0 for no limit";
    cfg.pids_limit = *v;
  }
  std::int64_t log_size = static_cast<std::int64_t>(cfg.task_logs.max_size);
  std::int64_t log_files = cfg.task_logs.max_files;
  if (auto node = t["log_max_size"]; node) {
    if (auto n = node.value<int64_t>()) {
      log_size = *n;
    } else if (auto v = node.value<std::string>()) {
      try {
        log_size = static_cast<std::int64_t>(parse_log_size(*v, "log_max_size"));
      } catch (const std::invalid_argument& e) {
        return path + ": " + e.what();
      }
    } else {
      return path + ": log_max_size must be a size (\"10m\") or a number of bytes";
    }
  }
  if (auto node = t["log_max_files"]; node) {
    if (auto n = node.value<int64_t>())
      log_files = *n;
    else
      return path + ": log_max_files must be a number";
  }
  if (auto why = check_log_limits(log_size, log_files, "log_max_size", "log_max_files"))
    return path + ": " + *why;
  cfg.task_logs =
      log_limits{static_cast<std::uint64_t>(log_size), static_cast<std::uint32_t>(log_files)};
  if (auto node = t["images"]; node) {
    auto* images = node.as_table();
    if (!images) return path + ": images must be a table";
    if (auto why = load_image_limits(*images, cfg.image_limits); !why.empty())
      return path + ": " + why;
  }
  if (auto node = t["registry"]; node) {
    auto* regs = node.as_table();
    if (!regs) return path + ": registry must be a table of [registry.\"host:port\"] entries";
    for (auto& [host, entry] : *regs) {
      std::string name(host.str());
      auto* e = entry.as_table();
      if (!e) return path + ": registry.\"" + name + "\" must be a table";
      images::registry_host_config rc;
      if (auto ca = (*e)["ca"]; ca) {
        auto v = ca.value<std::string>();
        if (!v || v->empty() || v->front() != '/')
          return path + ": registry.\"" + name + "\".ca must be an absolute path";
        rc.ca = *v;
      }
      if (auto ph = (*e)["plain_http"]; ph) {
        auto v = ph.value<bool>();
        if (!v) return path + ": registry.\"" + name + "\".plain_http must be true or false";
        rc.plain_http = *v;
      }
      if (auto m = (*e)["mirrors"]; m) {
        auto* list = m.as_array();
        if (!list) return path + ": registry.\"" + name + "\".mirrors must be a list of hosts";
        for (auto& x : *list) {
          auto v = x.value<std::string>();
          if (!v || v->empty())
            return path + ": registry.\"" + name + "\".mirrors must be a list of hosts";
          rc.mirrors.push_back(*v);
        }
      }
      cfg.registries[name] = rc;
    }
  }
  if (auto* rts = t["runtimes"].as_table()) {
    for (auto& [name, node] : *rts) {
      auto* rt = node.as_table();
      if (!rt) return path + ": runtimes." + std::string(name.str()) + " must be a table";
      runtime_entry e;
      e.runtime = (*rt)["runtime"].value_or(std::string{});
      e.root = (*rt)["root"].value_or(std::string{});
      e.shim = (*rt)["shim"].value_or(std::string{});
      cfg.runtimes[std::string(name.str())] = e;
    }
  }
  return problem;
}

berth_config to_berth_config(const daemon_config& cfg, const std::string& shim_binary) {
  berth_config b;
  b.root = cfg.root;
  b.state = cfg.state;
  b.default_runtime = cfg.default_runtime;
  b.snapshotter = cfg.snapshotter;
  b.image_limits = cfg.image_limits;
  b.registries = cfg.registries;
  b.pids_limit = cfg.pids_limit;
  b.events.subscriber_limit = static_cast<std::uint64_t>(cfg.event_subscriber_limit);
  b.events.retention = static_cast<std::uint64_t>(cfg.event_retention);
  b.logs = cfg.task_logs;
  b.runtimes = default_runtimes(shim_binary, cfg.state);
  for (auto& [name, e] : cfg.runtimes) {
    runtime_config* rc = nullptr;
    for (auto& r : b.runtimes)
      if (r.name == name) rc = &r;
    if (!rc) {
      b.runtimes.push_back(runtime_config{});
      rc = &b.runtimes.back();
      rc->name = name;
      rc->shim_binary = shim_binary;
      rc->runtime_root = cfg.state + "/.runtime/" + name;
    }
    if (!e.runtime.empty()) rc->runtime_binary = e.runtime;
    if (!e.root.empty()) rc->runtime_root = e.root;
    if (!e.shim.empty()) rc->shim_binary = e.shim;
  }
  for (auto& r : b.runtimes) {
    r.call_deadline = cfg.shim_timeout;
    r.shim_log_level = cfg.log_level;
  }
  return b;
}

}  // namespace berth
