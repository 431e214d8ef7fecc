#include "actors/images/overlay_snapshotter.hpp"

#include <sys/stat.h>

#include "actors/images/images_error.hpp"

namespace berth::images {

overlay_snapshotter::overlay_snapshotter(const std::string& berth_root)
    : snapshotter(berth_root + "/snapshots/overlay") {}

void overlay_snapshotter::create(const std::string& dir, const snapshot_info& s,
                                 const snapshot_info*) {
  if (::mkdir((dir + "/fs").c_str(), 0755) != 0) throw_errno("cannot create " + dir + "/fs");
  if (s.kind == snapshot_kind::active && ::mkdir((dir + "/work").c_str(), 0700) != 0)
    throw_errno("cannot create " + dir + "/work");
}

std::vector<mount_spec> overlay_snapshotter::mounts_of(const snapshot_info& s) const {
  auto parents = ancestors(s);
  if (s.kind == snapshot_kind::view) {
    // One read-only layer needs no overlay: a bind mount is cheaper.
    if (parents.size() == 1) return {{"bind", fs_of(parents[0]), {"ro", "rbind"}}};
    std::string lower = "lowerdir=";
    for (std::size_t i = 0; i < parents.size(); ++i) lower += (i ? ":" : "") + fs_of(parents[i]);
    return {{"overlay", "overlay", {"ro", lower}}};
  }
  if (parents.empty()) return {{"bind", fs_of(s), {"rw", "rbind"}}};
  std::string lower = "lowerdir=";
  for (std::size_t i = 0; i < parents.size(); ++i) lower += (i ? ":" : "") + fs_of(parents[i]);
  return {{"overlay",
           "overlay",
           {lower, "upperdir=" + fs_of(s), "workdir=" + dir_of(s) + "/work", "index=off"}}};
}

}  // namespace berth::images
