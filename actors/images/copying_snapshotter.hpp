// The copying snapshotter, for kernels without overlayfs: every snapshot is a
// full tree (a new one starts as a copy of its parent) and mounts are bind
// mounts. Slow and large, but it needs nothing from the kernel.
#pragma once

#include "actors/images/snapshotter.hpp"

namespace berth::images {

class copying_snapshotter final : public snapshotter {
 public:
  explicit copying_snapshotter(const std::string& berth_root);
  const char* driver() const override { return "copy"; }
  whiteout_mode whiteouts() const override { return whiteout_mode::remove; }

 private:
  void create(const std::string& dir, const snapshot_info& s, const snapshot_info* parent) override;
  std::vector<mount_spec> mounts_of(const snapshot_info& s) const override;
};

}  // namespace berth::images
