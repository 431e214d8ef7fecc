// Scratch directories of one fuzzing process, for the targets that write
// (the content store of an import, an unpacked layer, an image's /etc
// files). Everything lives under one directory of the process's own,
// below $BERTH_FUZZ_TMPDIR (the test driver sets it and removes it after
// the run, also after a crash), else /dev/shm (tmpfs: the content store's
// fsyncs cost nothing), else /tmp. The directory is removed at exit.
#pragma once

#include <string>

namespace berth::fuzz {

// This process's directory, created on first use.
const std::string& process_dir();

// An empty directory `name` below process_dir(), for one input: whatever a
// previous input left there is removed first, so the disk never fills.
std::string fresh_dir(const std::string& name);

// Removes `path` and everything below it, without following symlinks.
void remove_tree(const std::string& path);

}  // namespace berth::fuzz
