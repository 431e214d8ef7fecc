// The host paths an API client names, checked at the boundary with the
// client's own credentials (api_peer.hpp) before any actor sees them:
//
//  - stdio (createTask, exec, attach): a FIFO or a regular file, named in a
//    directory the client may write; an existing one the client may write
//    (stdout, stderr) or read (stdin); never a symbolic link, a directory
//    or a device. A stdout or stderr that does not exist yet is created
//    here as the client's own (0600; for root the shim creates it). The
//    shim opens every stdio path without following a symbolic link
//    anywhere on its way (shim/core/client_path.hpp), and the path is
//    rewritten here to its resolved form: a directory the client swaps for
//    a symbolic link after this check makes the open fail instead of
//    leading elsewhere.
//  - checkpoint paths: a directory, named in a directory the client may
//    write (a dump writes PATH and PATH.work beside it); the client may
//    write it (dump) or read it (restore).
//  - import archives: a regular file the client may read, opened here as the
//    client; berthd then reads that open file, not the path again.
//
// A refusal is invalid_argument stating the path, the rule and what broke it:
//   invalid stdout "/etc/passwd": must be a FIFO or a regular file in a
//   directory the client may write; uid 65534 may not write /etc
// Root clients may name any directory and file (they could write it
// themselves), but never a symbolic link, a directory or a device as stdio.
// A remote client (the TLS endpoint) may name none of these paths: it has no
// host identity to check them as. Its refusal says so, and what to use:
//   host paths are not accepted from a remote client (tls://10.0.0.5:50412,
//   CN=alice): stdout "/tmp/out"; leave stdio empty and read the output with
//   the task's logs (berth t start -d, berth t logs)
#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>

#include "actors/daemon/api_peer.hpp"
#include "actors/runtime/shim_messages.hpp"

namespace berth {

// Checks the non-empty paths of `io` and rewrites each to its resolved form.
caf::error check_stdio(const api_peer& peer, stdio_paths& io);

enum class checkpoint_use { dump, restore };

// Checks a checkpoint directory and rewrites it to its resolved form.
caf::error check_checkpoint_path(const api_peer& peer, std::string& path, checkpoint_use use);

// An import archive opened as the client. Movable; closes the file when
// destroyed. `path()` is what berthd should read: the file it opened
// (/proc/self/fd/N) for a client that is not root, the path as named for
// root.
class client_archive {
 public:
  client_archive() = default;
  client_archive(std::string named, int fd) : named_(std::move(named)), fd_(fd) {}
  client_archive(client_archive&& other) noexcept { *this = std::move(other); }
  client_archive& operator=(client_archive&& other) noexcept;
  client_archive(const client_archive&) = delete;
  client_archive& operator=(const client_archive&) = delete;
  ~client_archive();

  std::string path() const;
  const std::string& named() const { return named_; }
  // `err` with the /proc/self/fd path in its message replaced by the named one.
  caf::error as_named(caf::error err) const;

 private:
  std::string named_;
  int fd_ = -1;
};

caf::expected<client_archive> open_client_archive(const api_peer& peer, const std::string& path);

}  // namespace berth
