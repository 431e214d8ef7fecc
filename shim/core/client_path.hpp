// How the shim, running as root, opens a path a client named as a process's
// stdin, stdout or stderr. berthd has checked the path with the client's
// credentials (actors/daemon/client_paths.hpp) and resolved it; between that
// check and this open the client may still change what the path leads to,
// so the open itself refuses what no client should get:
//  - a symbolic link anywhere on the path (openat2 with RESOLVE_NO_SYMLINKS;
//    the last component with O_NOFOLLOW where openat2 is missing): a client
//    that swaps its directory or file for a link makes the open fail;
//  - anything but a FIFO or a regular file: the path is first opened with
//    O_PATH, which opens no device, and looked at with fstat; only then is
//    that very file opened for reading or writing (through /proc/self/fd),
//    and fstat checks the result again;
//  - a file created across a symbolic link: a missing stdout or stderr is
//    created with O_CREAT | O_EXCL, which never follows one.
#pragma once

#include <string>

namespace berth::shim {

enum class client_path_use { read, write };

struct client_file {
  int fd = -1;        // close-on-exec; the caller owns it
  bool fifo = false;  // else a regular file
};

// Opens `path` for `stream` ("stdin", "stdout", "stderr"):
//  - a FIFO: read-only (read) or write-only (write), non-blocking; with no
//    reader yet, a FIFO opened to write is held read-write instead (ENXIO),
//    so the open never blocks and output waits for the reader in the FIFO;
//  - a regular file: read-only, or appended to; created 0600 when missing.
// Throws std::runtime_error naming the stream, the path and why:
//   invalid stdout "/dev/null": must be a FIFO or a regular file reached
//   without a symbolic link; it is a character device
//   cannot open stdout /x/out: Permission denied
client_file open_client_path(const char* stream, const std::string& path, client_path_use use);

}  // namespace berth::shim
