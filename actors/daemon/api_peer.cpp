#include "actors/daemon/api_peer.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace berth {
namespace {

// The peer's supplementary groups as the kernel saw them at connect time;
// before Linux 4.13 (no SO_PEERGROUPS), those of its user in the group
// database.
std::vector<gid_t> peer_groups(int fd, const ucred& cred) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);
  }
  passwd pw{}, *found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return {};
  int n = 64;
  groups.assign(static_cast<size_t>(n), 0);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.assign(static_cast<size_t>(n), 0);
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return {};
  }
  groups.resize(static_cast<size_t>(n));
  return groups;
}

// The raw system calls: glibc's setgroups() changes every thread of the
// process (it signals them all), and the other threads must keep berthd's
// own credentials. setfsuid/setfsgid are per thread either way.
bool thread_setgroups(const std::vector<gid_t>& groups) {
  return ::syscall(SYS_setgroups, groups.size(), groups.data()) == 0;
}
uid_t thread_setfsuid(uid_t uid) {
  return static_cast<uid_t>(::syscall(SYS_setfsuid, uid));
}
gid_t thread_setfsgid(gid_t gid) {
  return static_cast<gid_t>(::syscall(SYS_setfsgid, gid));
}

// setfsuid answers with the previous id whether or not it succeeded; an
// invalid id changes nothing and answers the current one.
uid_t current_fsuid() {
  return thread_setfsuid(static_cast<uid_t>(-1));
}
gid_t current_fsgid() {
  return thread_setfsgid(static_cast<gid_t>(-1));
}

}  // namespace

std::optional<api_peer> read_api_peer(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  api_peer p;
  p.pid = cred.pid;
  p.uid = cred.uid;
  p.gid = cred.gid;
  p.groups = peer_groups(fd, cred);
  return p;
}

acting_as::acting_as(const api_peer& peer) {
  if (peer.is_remote()) {
    // No host credentials to take: every check must refuse (client_paths
    // refuses a remote client's paths before it gets here).
    ok_ = false;
    return;
  }
  if (peer.is_root() || peer.uid == ::geteuid()) return;
  saved_uid_ = current_fsuid();
  saved_gid_ = current_fsgid();
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    saved_groups_.resize(static_cast<size_t>(n));
    n = ::getgroups(n, saved_groups_.data());
    saved_groups_.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  switched_ = true;
  // Groups and gid first: changing the fsuid away from 0 also drops the
  // file capabilities (CAP_DAC_OVERRIDE and the like) from this thread.
  ok_ = thread_setgroups(peer.groups);
  thread_setfsgid(peer.gid);
  thread_setfsuid(peer.uid);
  ok_ = ok_ && current_fsgid() == peer.gid && current_fsuid() == peer.uid;
}

acting_as::~acting_as() {
  if (!switched_) return;
  // The fsuid back to 0 first: it restores the file capabilities.
  thread_setfsuid(saved_uid_);
  thread_setfsgid(saved_gid_);
  thread_setgroups(saved_groups_);
}

}  // namespace berth
