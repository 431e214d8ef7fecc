// The overlayfs snapshotter: each snapshot owns one directory ("fs", the
// upper layer while active) and a "work" dir; a mount stacks the committed
// ancestors as lowerdirs. Layers are unpacked straight into "fs" with
// whiteouts in overlayfs's own form.
#pragma once

#include "actors/images/snapshotter.hpp"

namespace berth::images {

class overlay_snapshotter final : public snapshotter {
 public:
  explicit overlay_snapshotter(const std::string& berth_root);
  const char* driver() const override { return "overlay"; }
  whiteout_mode whiteouts() const override { return whiteout_mode::overlay; }

 private:
  void create(const std::string& dir, const snapshot_info& s, const snapshot_info* parent) override;
  std::vector<mount_spec> mounts_of(const snapshot_info& s) const override;
};

}  // namespace berth::images
