#include "actors/images/copying_snapshotter.hpp"

#include <sys/stat.h>

#include "actors/images/images_error.hpp"
#include "actors/images/tree_copy.hpp"

namespace berth::images {

copying_snapshotter::copying_snapshotter(const std::string& berth_root)
    : snapshotter(berth_root + "/snapshots/copy") {}

void copying_snapshotter::create(const std::string& dir, const snapshot_info& s,
                                 const snapshot_info* parent) {
  if (s.kind == snapshot_kind::view) return;  // a view binds its parent's tree
  if (parent)
    copy_tree(fs_of(*parent), dir + "/fs");
  else if (::mkdir((dir + "/fs").c_str(), 0755) != 0)
    throw_errno("cannot create " + dir + "/fs");
}

std::vector<mount_spec> copying_snapshotter::mounts_of(const snapshot_info& s) const {
  if (s.kind == snapshot_kind::view) return {{"bind", fs_of(get(s.parent)), {"ro", "rbind"}}};
  return {{"bind", fs_of(s), {"rw", "rbind"}}};
}

}  // namespace berth::images
