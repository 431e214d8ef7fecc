// Snapshots: the directory trees containers run on. A committed snapshot is
// one unpacked layer stacked on its parent and is named by the layer's chain
// id, so every image and container using the same layers shares it. An
// active snapshot (one per container, or one per layer being unpacked) is
// writable; a view is read-only. This base class keeps the bookkeeping — one
// small JSON file per snapshot, written to a temp file and renamed, so a crash
// leaves either the old or the new record — and the drivers (overlay,
// copying) decide how a snapshot's directories are made and mounted.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/images/layer_unpack.hpp"

namespace berth::images {

struct mount_spec {
  std::string type;                  // "overlay" or "bind"
  std::string source;                // "overlay" or the directory bound
  std::vector<std::string> options;  // "lowerdir=a:b", "upperdir=…", "ro", "rbind"

  bool operator==(const mount_spec&) const = default;
};

enum class snapshot_kind { active, view, committed };
const char* to_string(snapshot_kind kind);

struct snapshot_info {
  std::string key;
  std::string parent;  // empty for a base layer
  snapshot_kind kind = snapshot_kind::active;
  std::string id;            // names its directory under snapshots/
  std::int64_t created = 0;  // unix seconds
};

struct snapshot_usage {
  std::int64_t bytes = 0;
  std::int64_t inodes = 0;
};

class snapshotter {
 public:
  virtual ~snapshotter() = default;
  snapshotter(const snapshotter&) = delete;
  snapshotter& operator=(const snapshotter&) = delete;

  // "overlay" or "copy"
  virtual const char* driver() const = 0;
  // How a layer unpacked into apply_dir() must express deletions.
  virtual whiteout_mode whiteouts() const = 0;

  // A new writable snapshot on top of committed `parent` (may be empty).
  // already_exists when `key` is taken, not_found / failed_precondition for
  // a missing or uncommitted parent.
  std::vector<mount_spec> prepare(const std::string& key, const std::string& parent);
  // A new read-only snapshot of committed `parent`.
  std::vector<mount_spec> view(const std::string& key, const std::string& parent);
  // How to mount an active snapshot or a view.
  std::vector<mount_spec> mounts(const std::string& key) const;
  // Turns active `key` into committed `name` (key disappears).
  void commit(const std::string& name, const std::string& key);
  // Removes a snapshot without children (failed_precondition otherwise).
  void remove(const std::string& key);
  std::optional<snapshot_info> stat(const std::string& key) const;
  std::vector<snapshot_info> list() const;
  // Disk used by the snapshot's own directory (for overlay: its layer only).
  snapshot_usage usage(const std::string& key) const;
  // The directory a layer is unpacked into for active snapshot `key`.
  std::string apply_dir(const std::string& key) const;
  // Removes directories no record names (left by a crash); returns how many.
  std::size_t cleanup();

  const std::string& root() const { return root_; }

 protected:
  // root: <berth root>/snapshots/<driver>
  explicit snapshotter(std::string root);
  // Makes the directories of new snapshot `s` in `dir` (which exists).
  virtual void create(const std::string& dir, const snapshot_info& s,
                      const snapshot_info* parent) = 0;
  virtual std::vector<mount_spec> mounts_of(const snapshot_info& s) const = 0;

  std::string dir_of(const snapshot_info& s) const { return root_ + "/snapshots/" + s.id; }
  std::string fs_of(const snapshot_info& s) const { return dir_of(s) + "/fs"; }
  // `s`'s committed ancestors, nearest first.
  std::vector<snapshot_info> ancestors(const snapshot_info& s) const;
  snapshot_info get(const std::string& key) const;  // not_found when absent

 private:
  std::vector<mount_spec> create_snapshot(const std::string& key, const std::string& parent,
                                          snapshot_kind kind);
  std::string record_path(const std::string& key) const;
  void write_record(const snapshot_info& s);
  std::optional<snapshot_info> read_record(const std::string& path) const;

  std::string root_;
};

// Whether the kernel offers overlayfs (/proc/filesystems).
bool overlay_supported();

// "overlay", "copy", or "auto" (overlay when the kernel has it).
std::unique_ptr<snapshotter> make_snapshotter(const std::string& berth_root,
                                              const std::string& driver = "auto");

// Mounts `mounts` (as returned above) at `target`; unmount_all undoes it.
void mount_all(const std::vector<mount_spec>& mounts, const std::string& target);
void unmount_all(const std::string& target);

}  // namespace berth::images
