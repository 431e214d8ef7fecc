// What kind of file a mode names, as a refusal says it ("it is a directory").
// One wording for berthd's and the shim's checks of client and host paths.
#pragma once

#include <sys/types.h>

#include <string>

namespace berth {

// "a regular file", "a directory", "a FIFO", "a socket", "a symbolic link",
// "a character device", "a block device", or "of an unknown type".
std::string file_kind(mode_t mode);

}  // namespace berth
