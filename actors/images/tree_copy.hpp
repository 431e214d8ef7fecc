// A faithful copy of a directory tree (types, modes, owners, times, xattrs,
// hard links, device nodes), for the copying snapshotter. Symlinks are copied
// as links, never followed.
#pragma once

#include <string>

namespace berth::images {

// Copies `src` to `dst`, which must not exist yet.
void copy_tree(const std::string& src, const std::string& dst);

}  // namespace berth::images
