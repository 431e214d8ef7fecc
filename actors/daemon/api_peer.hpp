// Who is on the other end of an API connection, and acting as that client on
// the file system.
//
// berthd runs as root, and a member of the socket's group is root-equivalent
// in what it may run (docs/security.md, "API clients"); but the host paths a
// client names (stdio, checkpoints, archives) are checked with the client's
// own credentials, so that a client gets through berthd no file it could not
// reach itself. The credentials are the socket's (SO_PEERCRED and
// SO_PEERGROUPS): those of the client process when it connected.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace berth {

struct api_peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  // A client of the TLS endpoint: "tls://ADDRESS:PORT, CN=NAME". It has no
  // host identity (no SO_PEERCRED), so the fields above mean nothing for it
  // and it may name no host path (client_paths.hpp). Empty for a local one.
  std::string remote;

  bool is_remote() const { return !remote.empty(); }
  // Root reaches every path anyway: its paths are not checked for access.
  bool is_root() const { return !is_remote() && uid == 0; }
  // "uid 65534", as the refusals name the client.
  std::string user() const {
    return is_remote() ? "remote client " + remote : "uid " + std::to_string(uid);
  }
  // "uid 65534 pid 812", for berthd's log.
  std::string describe() const {
    return is_remote() ? user() : user() + " pid " + std::to_string(pid);
  }
};

// The peer of the connected unix socket `fd`; nullopt (with errno set) when
// the kernel does not say.
std::optional<api_peer> read_api_peer(int fd);

// While alive, file system access by the calling thread is checked against
// `peer`'s uid, gid and groups (setfsuid, setfsgid and a setgroups of this
// thread only), as the kernel would check the client's own calls; the
// destructor gives the thread berthd's credentials back. Other threads are
// not affected. Use only on one thread, around synchronous calls (no promise
// may run in between). Nothing changes for a root peer, or one with
// berthd's own uid.
class acting_as {
 public:
  explicit acting_as(const api_peer& peer);
  ~acting_as();
  acting_as(const acting_as&) = delete;
  acting_as& operator=(const acting_as&) = delete;

  // False when the thread could not take the peer's credentials (berthd not
  // running as root): every check must then refuse.
  bool ok() const { return ok_; }

 private:
  bool switched_ = false;
  bool ok_ = true;
  uid_t saved_uid_ = 0;
  gid_t saved_gid_ = 0;
  std::vector<gid_t> saved_groups_;
};

}  // namespace berth
