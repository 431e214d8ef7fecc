#include "actors/daemon/client_paths.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "actors/errors.hpp"
#include "schema/file_kind.hpp"

namespace berth {
namespace {

bool denied(int err) {
  return err == EACCES || err == EPERM;
}

// Whether this thread (acting as the client) may access `path` with `mode`.
bool may(const std::string& path, int mode) {
  return ::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0;
}

// A named path with its directory resolved and its last component looked at
// without being followed.
struct located {
  std::string resolved;  // the resolved directory + "/" + the last component
  bool exists = false;
  struct stat st {};
};

// Resolves the directory of `path` as this thread (acting as `peer`) and
// checks that the peer may write it. Returns the problem, "" when none.
std::string locate(const api_peer& peer, const std::string& path, located& out) {
  if (path.empty() || path.front() != '/') return "it is not an absolute path";
  auto slash = path.rfind('/');
  std::string name = path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return "it does not name a file in a directory";
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  char buf[PATH_MAX];
  if (!::realpath(dir.c_str(), buf)) {
    int e = errno;
    if (denied(e)) return peer.user() + " may not reach " + dir;
    if (e == ENOENT) return "directory " + dir + " does not exist";
    if (e == ENOTDIR) return dir + " is not a directory";
    return "cannot resolve " + dir + ": " + std::strerror(e);
  }
  std::string resolved_dir = buf;
  if (!peer.is_root() && !may(resolved_dir, W_OK | X_OK)) {
    int e = errno;
    if (denied(e)) return peer.user() + " may not write " + resolved_dir;
    return resolved_dir + " cannot be written: " + std::strerror(e);
  }
  out.resolved = (resolved_dir == "/" ? "" : resolved_dir) + "/" + name;
  if (::fstatat(AT_FDCWD, out.resolved.c_str(), &out.st, AT_SYMLINK_NOFOLLOW) == 0) {
    out.exists = true;
  } else if (errno != ENOENT) {
    return "cannot look at " + out.resolved + ": " + std::strerror(errno);
  }
  return "";
}

// A remote client (the TLS endpoint) has no identity on this host to check a
// path as, and a path it names is one on berthd's machine, not its own.
caf::error remote_path(const api_peer& peer, const std::string& what, const std::string& path,
                       const std::string& instead) {
  return make_error(errc::invalid_argument, "host paths are not accepted from a remote client (" +
                                                peer.remote + "): " + what + " \"" + path + "\"; " +
                                                instead);
}

caf::error cannot_act_as(const api_peer& peer) {
  return make_error(errc::internal, "cannot check the paths of " + peer.user() +
                                        " with its credentials: berthd does not run as root");
}

// The problem with one stdio path, "" when none; `path` is then resolved.
std::string stdio_problem(const api_peer& peer, std::string& path, bool input) {
  located l;
  auto why = locate(peer, path, l);
  if (!why.empty()) return why;
  if (!l.exists) {
    if (input) return "it does not exist";
    // Made here, as the client, so the output is its own to read; root's
    // outputs the shim creates (0600, root's).
    if (!peer.is_root()) {
      int fd =
          ::open(l.resolved.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return "cannot create it: " + std::string(std::strerror(errno));
      ::close(fd);
    }
  } else if (!S_ISFIFO(l.st.st_mode) && !S_ISREG(l.st.st_mode)) {
    return "it is " + file_kind(l.st.st_mode);
  } else if (!peer.is_root() && !may(l.resolved, input ? R_OK : W_OK)) {
    int e = errno;
    if (!denied(e)) return "cannot check it: " + std::string(std::strerror(e));
    return peer.user() + (input ? " may not read it" : " may not write it");
  }
  path = l.resolved;
  return "";
}

}  // namespace

caf::error check_stdio(const api_peer& peer, stdio_paths& io) {
  if (peer.is_remote()) {
    for (auto [name, path] :
         {std::pair{"stdin", &io.in}, std::pair{"stdout", &io.out}, std::pair{"stderr", &io.err}})
      if (!path->empty())
        return remote_path(peer, name, *path,
                           "leave stdio empty and read the output with the task's logs "
                           "(berth t start -d, berth t logs)");
    return caf::none;
  }
  acting_as as(peer);
  if (!as.ok()) return cannot_act_as(peer);
  struct stream {
    const char* name;
    std::string* path;
    bool input;
  };
  for (auto s : {stream{"stdin", &io.in, true}, stream{"stdout", &io.out, false},
                 stream{"stderr", &io.err, false}}) {
    if (s.path->empty()) continue;  // /dev/null, which the shim chooses itself
    std::string named = *s.path;
    auto why = stdio_problem(peer, *s.path, s.input);
    if (!why.empty())
      return make_error(errc::invalid_argument,
                        std::string("invalid ") + s.name + " \"" + named +
                            "\": must be a FIFO or a regular file in a directory the client "
                            "may write; " +
                            why);
  }
  return caf::none;
}

caf::error check_checkpoint_path(const api_peer& peer, std::string& path, checkpoint_use use) {
  if (peer.is_remote())
    return remote_path(peer, "checkpoint path", path, "checkpoint through berthd's local socket");
  acting_as as(peer);
  if (!as.ok()) return cannot_act_as(peer);
  bool dump = use == checkpoint_use::dump;
  located l;
  auto why = locate(peer, path, l);
  if (why.empty()) {
    if (!l.exists) {
      if (!dump) why = "it does not exist";
    } else if (!S_ISDIR(l.st.st_mode)) {
      why = "it is " + file_kind(l.st.st_mode);
    } else if (!peer.is_root() && !may(l.resolved, (dump ? W_OK : R_OK) | X_OK)) {
      why = peer.user() + (dump ? " may not write it" : " may not read it");
    }
  }
  if (!why.empty())
    return make_error(errc::invalid_argument,
                      "invalid checkpoint path \"" + path + "\": must be " +
                          (dump ? "a directory the client may write, or a new one, "
                                : "a directory the client may read, ") +
                          "in a directory the client may write; " + why);
  path = l.resolved;
  return caf::none;
}

client_archive& client_archive::operator=(client_archive&& other) noexcept {
  if (this == &other) return *this;
  if (fd_ >= 0) ::close(fd_);
  named_ = std::move(other.named_);
  fd_ = other.fd_;
  other.fd_ = -1;
  return *this;
}

client_archive::~client_archive() {
  if (fd_ >= 0) ::close(fd_);
}

std::string client_archive::path() const {
  return fd_ < 0 ? named_ : "/proc/self/fd/" + std::to_string(fd_);
}

caf::error client_archive::as_named(caf::error err) const {
  if (fd_ < 0) return err;
  return with_name_replaced(err, path(), named_);
}

caf::expected<client_archive> open_client_archive(const api_peer& peer, const std::string& path) {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      "invalid archive path \"" + path +
                          "\": must be a regular file the client may read (berthd reads it); " +
                          why);
  };
  if (peer.is_remote())
    return remote_path(peer, "archive path", path,
                       "import the archive through berthd's local socket (there is no "
                       "streaming import yet)");
  if (path.empty() || path.front() != '/') return refuse("it is not an absolute path");
  // Root may read anything: berthd opens its path as it always did.
  if (peer.is_root()) return client_archive(path, -1);
  acting_as as(peer);
  if (!as.ok()) return cannot_act_as(peer);
  // Opened as the client, so the kernel checks every directory on the way
  // and the file itself; non-blocking, so a FIFO cannot hold the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (denied(e)) return refuse(peer.user() + " may not read it");
    if (e == ENOENT) return refuse("it does not exist");
    return refuse(std::string("cannot open it: ") + std::strerror(e));
  }
  client_archive archive(path, fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return refuse(std::string("cannot look at it: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return refuse("it is " + file_kind(st.st_mode));
  return archive;
}

}  // namespace berth
