#include "actors/images/image_config.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"
#include "actors/images/rooted_fs.hpp"

namespace berth::images {

namespace {

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> strings(const nlohmann::json& j, const char* key,
                                 const std::string& what) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array())
    throw images_error(error_kind::invalid_argument, what + ": " + key + " is not a list");
  for (const auto& v : *it) {
    if (!v.is_string())
      throw images_error(error_kind::invalid_argument, what + ": " + key + " holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::optional<std::uint32_t> as_id(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  unsigned long v = std::stoul(s);
  if (v > 0xffffffffUL) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

// The lines of a colon-separated database file in the rootfs, split in fields.
std::vector<std::vector<std::string>> read_db(int root, const std::string& path) {
  std::vector<std::vector<std::string>> out;
  unique_fd fd = open_file_in_root(root, path);
  if (!fd) return out;
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (4 << 20))  // no real passwd file is this large
      throw images_error(error_kind::failed_precondition,
                         path + " in the image is larger than 4 MiB");
  }
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::size_t f = 0;
    while (true) {
      auto c = line.find(':', f);
      fields.push_back(line.substr(f, c == std::string::npos ? std::string::npos : c - f));
      if (c == std::string::npos) break;
      f = c + 1;
    }
    out.push_back(std::move(fields));
  }
  return out;
}

}  // namespace

image_config parse_image_config(const std::string& json, const std::string& what) {
  auto j = parse_json(json, what);
  if (!j.is_object())
    throw images_error(error_kind::invalid_argument, what + " is not a JSON object");
  image_config c;
  // A field that is not a string reads as unset, as in manifests (j.value
  // would throw nlohmann's type_error, which names neither image nor field).
  auto text = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  c.os = text("os");
  c.architecture = text("architecture");
  auto cfg = j.find("config");
  if (cfg == j.end() || cfg->is_null()) return c;
  if (!cfg->is_object())
    throw images_error(error_kind::invalid_argument, what + ": config is not an object");
  c.entrypoint = strings(*cfg, "Entrypoint", what);
  c.cmd = strings(*cfg, "Cmd", what);
  c.env = strings(*cfg, "Env", what);
  if (auto w = cfg->find("WorkingDir"); w != cfg->end() && w->is_string()) c.working_dir = *w;
  if (auto u = cfg->find("User"); u != cfg->end() && u->is_string()) c.user = *u;
  if (auto l = cfg->find("Labels"); l != cfg->end() && l->is_object())
    for (const auto& [k, v] : l->items())
      if (v.is_string()) c.labels[k] = v.get<std::string>();
  return c;
}

resolved_user resolve_user(const std::string& user, const std::string& rootfs) {
  resolved_user r;
  r.home = "/";
  if (user.empty()) {
    r.home = "/root";
    return r;
  }
  unique_fd root = open_directory(rootfs);
  auto colon = user.find(':');
  std::string name = user.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : user.substr(colon + 1);
  auto passwd = read_db(root.get(), "/etc/passwd");
  const std::vector<std::string>* entry = nullptr;
  auto uid = as_id(name);
  for (const auto& p : passwd) {
    if (p.size() < 4) continue;
    if ((uid && as_id(p[2]) == uid) || (!uid && p[0] == name)) {
      entry = &p;
      break;
    }
  }
  if (!uid && !entry)
    throw images_error(error_kind::not_found,
                       "user \"" + name + "\" not found in the image's /etc/passwd");
  r.uid = uid ? *uid : as_id((*entry)[2]).value_or(0);
  if (entry) {
    r.gid = as_id((*entry)[3]).value_or(0);
    if (entry->size() > 5 && !(*entry)[5].empty()) r.home = (*entry)[5];
  }
  auto groups = read_db(root.get(), "/etc/group");
  if (!group.empty()) {
    if (auto gid = as_id(group)) {
      r.gid = *gid;
    } else {
      bool found = false;
      for (const auto& g : groups)
        if (g.size() >= 3 && g[0] == group) {
          r.gid = as_id(g[2]).value_or(0);
          found = true;
          break;
        }
      if (!found)
        throw images_error(error_kind::not_found,
                           "group \"" + group + "\" not found in the image's /etc/group");
    }
  }
  // Supplementary groups: those listing the user by name (as login(1) would).
  if (entry) {
    for (const auto& g : groups) {
      if (g.size() < 4) continue;
      auto gid = as_id(g[2]);
      if (!gid || *gid == r.gid) continue;
      std::size_t start = 0;
      const std::string& members = g[3];
      while (start <= members.size()) {
        auto comma = members.find(',', start);
        if (members.substr(start, comma == std::string::npos ? std::string::npos : comma - start) ==
            (*entry)[0]) {
          r.additional_gids.push_back(*gid);
          break;
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  return r;
}

bool needs_rootfs(const image_config& config, const process_overrides& o) {
  return !(!o.user.empty() ? o.user : config.user).empty();
}

process_params make_process(const image_config& config, const process_overrides& o,
                            const std::string& rootfs) {
  process_params p;
  p.args = config.entrypoint;
  const auto& tail = o.args.empty() ? config.cmd : o.args;
  p.args.insert(p.args.end(), tail.begin(), tail.end());
  if (p.args.empty())
    throw images_error(error_kind::invalid_argument,
                       "no command to run: the image has no entrypoint or cmd and none was given");
  p.env = config.env;
  for (const auto& kv : o.env) {
    auto key = kv.substr(0, kv.find('=') + 1);
    bool replaced = false;
    for (auto& e : p.env)
      if (e.compare(0, key.size(), key) == 0) {
        e = kv;
        replaced = true;
      }
    if (!replaced) p.env.push_back(kv);
  }
  p.cwd = !o.cwd.empty() ? o.cwd : (!config.working_dir.empty() ? config.working_dir : "/");
  if (p.cwd.front() != '/')
    throw images_error(error_kind::invalid_argument,
                       "working directory \"" + p.cwd + "\" is not an absolute path");
  p.user = resolve_user(!o.user.empty() ? o.user : config.user, rootfs);
  auto has = [&](const char* key) {
    for (const auto& e : p.env)
      if (e.rfind(key, 0) == 0) return true;
    return false;
  };
  if (!has("PATH=")) p.env.insert(p.env.begin(), kDefaultPath);
  if (!has("HOME=")) p.env.push_back("HOME=" + p.user.home);
  return p;
}

}  // namespace berth::images
