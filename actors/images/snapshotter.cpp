#include "actors/images/snapshotter.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "actors/images/copying_snapshotter.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/overlay_snapshotter.hpp"
#include "actors/images/rooted_fs.hpp"

namespace berth::images {

namespace fs = std::filesystem;

namespace {

std::string random_id() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> dist(0, 15);
  std::string out;
  for (int i = 0; i < 16; ++i) out += "0123456789abcdef"[dist(rd)];
  return out;
}

void check_key(const std::string& key) {
  if (key.empty() || key.size() > 512 || key.find('\0') != std::string::npos ||
      key.find('\n') != std::string::npos)
    throw images_error(error_kind::invalid_argument,
                       "invalid snapshot key \"" + key + "\": 1 to 512 characters, no newline");
}

snapshot_kind kind_from(const std::string& s) {
  if (s == "committed") return snapshot_kind::committed;
  if (s == "view") return snapshot_kind::view;
  return snapshot_kind::active;
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw_errno("cannot fsync " + path);
}

}  // namespace

const char* to_string(snapshot_kind kind) {
  switch (kind) {
    case snapshot_kind::active:
      return "active";
    case snapshot_kind::view:
      return "view";
    case snapshot_kind::committed:
      return "committed";
  }
  return "active";
}

snapshotter::snapshotter(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ + "/metadata", ec);
  if (!ec) fs::create_directories(root_ + "/snapshots", ec);
  if (ec)
    throw images_error(error_kind::internal,
                       "cannot create snapshot directories under " + root_ + ": " + ec.message());
}

std::string snapshotter::record_path(const std::string& key) const {
  // Keys are free text (chain ids, container ids); their hash names the file.
  return root_ + "/metadata/" + std::string(digest_hex(sha256_digest(key))) + ".json";
}

void snapshotter::write_record(const snapshot_info& s) {
  nlohmann::json j = {{"key", s.key},
                      {"parent", s.parent},
                      {"kind", to_string(s.kind)},
                      {"id", s.id},
                      {"created", s.created}};
  std::string target = record_path(s.key);
  std::string temp = target + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << j.dump();
    if (!out.flush()) throw images_error(error_kind::internal, "cannot write " + temp);
  }
  fsync_path(temp, O_RDONLY);
  if (::rename(temp.c_str(), target.c_str()) != 0) throw_errno("cannot rename " + temp);
  fsync_path(root_ + "/metadata", O_RDONLY | O_DIRECTORY);
}

std::optional<snapshot_info> snapshotter::read_record(const std::string& path) const {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  snapshot_info s;
  s.key = j.value("key", "");
  s.parent = j.value("parent", "");
  s.kind = kind_from(j.value("kind", ""));
  s.id = j.value("id", "");
  s.created = j.value("created", std::int64_t{0});
  if (s.key.empty() || s.id.empty()) return std::nullopt;
  return s;
}

std::optional<snapshot_info> snapshotter::stat(const std::string& key) const {
  check_key(key);
  return read_record(record_path(key));
}

snapshot_info snapshotter::get(const std::string& key) const {
  auto s = stat(key);
  if (!s) throw images_error(error_kind::not_found, "snapshot \"" + key + "\" not found");
  return *s;
}

std::vector<snapshot_info> snapshotter::list() const {
  std::vector<snapshot_info> out;
  for (const auto& e : fs::directory_iterator(root_ + "/metadata")) {
    if (e.path().extension() != ".json") continue;
    if (auto s = read_record(e.path().string())) out.push_back(std::move(*s));
  }
  return out;
}

std::vector<snapshot_info> snapshotter::ancestors(const snapshot_info& s) const {
  std::vector<snapshot_info> out;
  std::string next = s.parent;
  while (!next.empty()) {
    if (out.size() > 256) throw images_error(error_kind::internal, "snapshot chain too long");
    out.push_back(get(next));
    next = out.back().parent;
  }
  return out;
}

std::vector<mount_spec> snapshotter::create_snapshot(const std::string& key,
                                                     const std::string& parent,
                                                     snapshot_kind kind) {
  check_key(key);
  if (stat(key))
    throw images_error(error_kind::already_exists, "snapshot \"" + key + "\" already exists");
  std::optional<snapshot_info> p;
  if (!parent.empty()) {
    p = stat(parent);
    if (!p)
      throw images_error(error_kind::not_found, "parent snapshot \"" + parent + "\" not found");
    if (p->kind != snapshot_kind::committed)
      throw images_error(
          error_kind::failed_precondition,
          "parent snapshot \"" + parent + "\" is " + to_string(p->kind) + ", not committed");
  } else if (kind == snapshot_kind::view) {
    throw images_error(error_kind::invalid_argument, "a view needs a parent snapshot");
  }
  snapshot_info s{key, parent, kind, random_id(),
                  std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()};
  std::string dir = dir_of(s);
  if (::mkdir(dir.c_str(), 0700) != 0) throw_errno("cannot create snapshot directory " + dir);
  try {
    create(dir, s, p ? &*p : nullptr);
    write_record(s);
  } catch (...) {
    remove_tree(dir);
    throw;
  }
  return mounts_of(s);
}

std::vector<mount_spec> snapshotter::prepare(const std::string& key, const std::string& parent) {
  return create_snapshot(key, parent, snapshot_kind::active);
}

std::vector<mount_spec> snapshotter::view(const std::string& key, const std::string& parent) {
  return create_snapshot(key, parent, snapshot_kind::view);
}

std::vector<mount_spec> snapshotter::mounts(const std::string& key) const {
  auto s = get(key);
  if (s.kind == snapshot_kind::committed)
    throw images_error(error_kind::failed_precondition,
                       "snapshot \"" + key + "\" is committed; prepare or view one on top of it");
  return mounts_of(s);
}

std::string snapshotter::apply_dir(const std::string& key) const {
  auto s = get(key);
  if (s.kind != snapshot_kind::active)
    throw images_error(error_kind::failed_precondition,
                       "snapshot \"" + key + "\" is " + to_string(s.kind) + ", not active");
  return fs_of(s);
}

void snapshotter::commit(const std::string& name, const std::string& key) {
  auto s = get(key);
  if (s.kind != snapshot_kind::active)
    throw images_error(error_kind::failed_precondition,
                       "cannot commit snapshot \"" + key + "\": it is " + to_string(s.kind));
  check_key(name);
  if (stat(name))
    throw images_error(error_kind::already_exists, "snapshot \"" + name + "\" already exists");
  snapshot_info committed = s;
  committed.key = name;
  committed.kind = snapshot_kind::committed;
  // The new record first: a crash between the two steps leaves both names
  // on one directory, which remove() handles, never a lost snapshot.
  write_record(committed);
  if (::unlink(record_path(key).c_str()) != 0) throw_errno("cannot drop record of " + key);
  std::error_code ec;
  fs::remove_all(dir_of(s) + "/work", ec);
}

void snapshotter::remove(const std::string& key) {
  auto s = get(key);
  auto all = list();
  for (const auto& other : all)
    if (other.parent == key)
      throw images_error(
          error_kind::failed_precondition,
          "cannot remove snapshot \"" + key + "\": snapshot \"" + other.key + "\" is based on it");
  if (::unlink(record_path(key).c_str()) != 0) throw_errno("cannot remove record of " + key);
  for (const auto& other : all)
    if (other.key != key && other.id == s.id) return;  // still named (see commit)
  remove_tree(dir_of(s));
}

std::size_t snapshotter::cleanup() {
  std::set<std::string> ids;
  for (const auto& s : list()) ids.insert(s.id);
  std::size_t removed = 0;
  for (const auto& e : fs::directory_iterator(root_ + "/snapshots")) {
    if (ids.count(e.path().filename().string())) continue;
    remove_tree(e.path().string());
    ++removed;
  }
  for (const auto& e : fs::directory_iterator(root_ + "/metadata"))
    if (e.path().extension() == ".tmp") fs::remove(e.path());
  return removed;
}

snapshot_usage snapshotter::usage(const std::string& key) const {
  auto s = get(key);
  snapshot_usage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  std::string top = fs_of(s);
  for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;  // hard links count once
    ++u.inodes;
    u.bytes += static_cast<std::int64_t>(st.st_blocks) * 512;
  }
  return u;
}

bool overlay_supported() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line))
    if (line.size() >= 7 && line.compare(line.size() - 7, 7, "overlay") == 0 &&
        (line.size() == 7 || line[line.size() - 8] == '\t'))
      return true;
  return false;
}

std::unique_ptr<snapshotter> make_snapshotter(const std::string& berth_root,
                                              const std::string& driver) {
  std::string d = driver;
  if (d == "auto") d = overlay_supported() ? "overlay" : "copy";
  if (d == "overlay") return std::make_unique<overlay_snapshotter>(berth_root);
  if (d == "copy") return std::make_unique<copying_snapshotter>(berth_root);
  throw images_error(error_kind::invalid_argument,
                     "unknown snapshotter \"" + driver + "\" (overlay, copy or auto)");
}

void mount_all(const std::vector<mount_spec>& mounts, const std::string& target) {
  for (const auto& m : mounts) {
    unsigned long flags = 0;
    std::string data;
    bool readonly = false;
    for (const auto& o : m.options) {
      if (o == "ro")
        readonly = true;
      else if (o == "rbind")
        flags |= MS_BIND | MS_REC;
      else if (o == "bind")
        flags |= MS_BIND;
      else if (o != "rw")
        data += (data.empty() ? "" : ",") + o;
    }
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(),
                flags | (readonly ? MS_RDONLY : 0), data.empty() ? nullptr : data.c_str()) != 0)
      throw_errno("cannot mount " + m.type + " at " + target);
    // A bind mount ignores MS_RDONLY until it is remounted.
    if (readonly && (flags & MS_BIND) &&
        ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
      throw_errno("cannot make the bind mount at " + target + " read-only");
  }
}

void unmount_all(const std::string& target) {
  while (::umount2(target.c_str(), MNT_DETACH) == 0) {
  }
  if (errno != EINVAL && errno != ENOENT) throw_errno("cannot unmount " + target);
}

}  // namespace berth::images
