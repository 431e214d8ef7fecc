// Where one output stream (stdout or stderr) of a process goes for one
// client: the caller's FIFO or regular file. A client must never hold its
// container back, so a FIFO destination gives up instead of waiting forever:
//  - its reader is gone (a `berth run` killed with -9): the write fails with
//    EPIPE at once, because the shim holds the FIFO write-only whenever a
//    reader is already there (SIGPIPE is ignored in the shim);
//  - its reader is alive but takes nothing (stopped, or never reads): a
//    write that makes no progress for the stall limit fails.
// The caller (process_io) then stops forwarding to that client; the task log
// keeps everything, and the container's own pipe is read again at once.
#pragma once

#include <string>

#include <kj/async-io.h>
#include <kj/time.h>

namespace berth::shim {

// How long a client's FIFO may stay full before the client is dropped. The
// container's pipe can back up for at most this long, once per client.
inline constexpr kj::Duration kClientStallLimit = 5 * kj::SECONDS;

// Opens `path` for `stream` ("stdout", "stderr") with open_client_path
// (client_path.hpp): a FIFO write-only and non-blocking (read-write while
// nobody reads it yet, so an early open does not fail and what the process
// writes waits for the reader), a regular file appended to, created 0600;
// never a symbolic link, a directory or a device. Throws std::runtime_error
// naming the stream and path ("cannot open stdout /x/out: Permission denied").
kj::Own<kj::AsyncOutputStream> open_client_output(kj::LowLevelAsyncIoProvider& io,
                                                  const char* stream, const std::string& path,
                                                  kj::Duration stall_limit = kClientStallLimit);

}  // namespace berth::shim
