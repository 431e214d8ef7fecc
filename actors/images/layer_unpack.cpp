#include "actors/images/layer_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "actors/images/decompressed_stream.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/image_limits.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/rooted_fs.hpp"

namespace berth::images {

namespace {

constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_marker = ".wh..wh..opq";

struct archive_free {
  void operator()(archive* a) const { archive_read_free(a); }
};
using archive_ptr = std::unique_ptr<archive, archive_free>;

// Free space is checked again after this much data, and after this many
// entries (a statvfs each time: cheap next to the writes).
constexpr std::int64_t kSpaceCheckBytes = 16 << 20;
constexpr std::int64_t kSpaceCheckEntries = 4096;
// A file claiming at least this much has its size checked against the free
// space before its data is read.
constexpr std::int64_t kSpaceCheckClaim = 1 << 20;

// Why the tar reader failed: the decompressor's reason, else libarchive's
// message, which may be null.
std::string tar_error(archive* tar, const decompressed_stream& src) {
  if (!src.error().empty()) return src.error();
  const char* e = archive_error_string(tar);
  return e ? e : "read error";
}

[[noreturn]] void bad_layer(const unpack_options& o, const std::string& why) {
  throw images_error(error_kind::invalid_argument, "cannot unpack " + o.what + ": " + why);
}

std::int64_t unpack_budget(const unpack_options& o) {
  return std::max<std::int64_t>(0, o.limits.max_unpacked_bytes - o.unpacked_before);
}

std::string unpacked_limit(const unpack_options& o) {
  return format_bytes(o.limits.max_unpacked_bytes) +
         " an image may unpack to ([images] max_unpacked_size)";
}

[[noreturn]] void over_unpacked_limit(const unpack_options& o) {
  if (o.unpacked_before > 0)
    bad_layer(o, "with the " + format_bytes(o.unpacked_before) +
                     " of the image's earlier layers, it unpacks to more than the " +
                     unpacked_limit(o));
  bad_layer(o, "it unpacks to more than the " + unpacked_limit(o));
}

// Refuses when taking `need` more bytes on the file system of `dir` would
// leave less than the reserve. `need_text` says what needs them.
void check_free_space(const std::string& dir, std::int64_t need, const std::string& need_text,
                      const unpack_options& o) {
  std::int64_t free = free_bytes(dir);
  std::int64_t reserve = o.limits.free_space_reserve;
  if (free - need >= reserve) return;
  std::string rule = "the reserve of " + format_bytes(reserve) + " ([images] free_space_reserve)";
  if (need > 0)
    bad_layer(o, need_text + ", and the file system of " + dir + " has " + format_bytes(free) +
                     " free: that would leave less than " + rule);
  bad_layer(o, "the free space of the file system of " + dir + " fell to " + format_bytes(free) +
                   ", under " + rule + ", while unpacking " + need_text);
}

class layer_applier {
 public:
  layer_applier(int root, std::string dir, const unpack_options& o, decompressed_stream& src)
      : root_(root),
        dir_(std::move(dir)),
        o_(o),
        src_(src),
        as_root_(::geteuid() == 0),
        nodev_(mounted_nodev(dir_)) {}

  void apply(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    std::string path = raw ? raw : "";
    std::string what = "layer entry \"" + path + "\"";
    auto parts = split_entry_path(path, "layer entry");
    if (parts.empty()) return;  // the layer's root itself
    const std::string base = parts.back();
    unique_fd parent = open_dir_beneath(root_, parts, parts.size() - 1, true, what);
    std::string parent_path = join_path(parts, parts.size() - 1);

    if (base.rfind(whiteout_prefix, 0) == 0) {
      whiteout(parent.get(), parent_path, base, what);
      return;
    }
    std::string rel = join_path(parts, parts.size());
    written_.insert(rel);

    if (const char* link = archive_entry_hardlink(e)) {
      hard_link(parent.get(), base, link, what);
      return;
    }
    mode_t type = archive_entry_filetype(e);
    switch (type) {
      case AE_IFDIR:
        make_dir(parent.get(), base, what);
        break;
      case AE_IFREG:
        claim(archive_entry_size(e), what);
        write_file(a, e, parent.get(), base, what);
        break;
      case AE_IFLNK: {
        replace(parent.get(), base);
        const char* target = archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", parent.get(), base.c_str()) != 0)
          throw_errno("cannot create symlink for " + what);
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        if (!as_root_) return;  // device nodes need root; skipped otherwise
        check_device(type, archive_entry_rdev(e), what);
        replace(parent.get(), base);
        if (::mknodat(parent.get(), base.c_str(), (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
                      archive_entry_rdev(e)) != 0)
          throw_errno("cannot create device node for " + what);
        break;
      case AE_IFIFO:
        replace(parent.get(), base);
        if (::mkfifoat(parent.get(), base.c_str(), 0600) != 0)
          throw_errno("cannot create fifo for " + what);
        break;
      default:
        bad_layer(o_, what + " has an unsupported type");
    }
    set_metadata(parent.get(), base, e, type, what);
    if (type == AE_IFDIR) dirs_.push_back({parts, times_of(e)});
  }

  // Free space is still above the reserve; `at` names the entry.
  void check_space(const std::string& at) { check_free_space(dir_, 0, at, o_); }

  // trusted.* and security.* attributes the layer carried and berth dropped.
  std::vector<std::string> dropped_xattrs() const { return {dropped_.begin(), dropped_.end()}; }

  // Directory times last: creating entries inside changes them.
  void finish() {
    for (const auto& d : dirs_) {
      try {
        unique_fd fd = open_dir_beneath(root_, d.parts, d.parts.size(), false, "layer directory");
        ::futimens(fd.get(), d.times.data());
      } catch (const images_error&) {
        // A later entry replaced or whited out the directory: no times to set.
      }
    }
  }

 private:
  struct dir_times {
    std::vector<std::string> parts;
    std::array<timespec, 2> times;
  };

  static std::array<timespec, 2> times_of(archive_entry* e) {
    std::array<timespec, 2> t{};
    t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
    t[0].tv_nsec =
        archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
    t[1].tv_sec = archive_entry_mtime(e);
    t[1].tv_nsec = archive_entry_mtime_nsec(e);
    return t;
  }

  // A file's size as its header claims it counts against the image's
  // unpacked bytes and the free space before one byte of it is read: a
  // header claiming terabytes is refused, not written until the disk fills.
  void claim(std::int64_t size, const std::string& what) {
    if (size < 0) bad_layer(o_, what + " has a negative size");
    std::int64_t left = unpack_budget(o_) - claimed_;
    if (size > left)
      bad_layer(o_, what + " claims " + format_bytes(size) + ", more than the " +
                        (left == o_.limits.max_unpacked_bytes
                             ? std::string()
                             : format_bytes(std::max<std::int64_t>(left, 0)) + " left of the ") +
                        unpacked_limit(o_));
    claimed_ += size;
    if (size >= kSpaceCheckClaim)
      check_free_space(dir_, size, what + " claims " + format_bytes(size), o_);
  }

  // A device node on a file system that honours devices would be one more
  // way for whoever reaches the snapshot directory to reach the host's
  // hardware; the runtime gives containers their /dev anyway. A 0:0
  // character device is overlayfs's whiteout, which opens nothing.
  void check_device(mode_t type, dev_t rdev, const std::string& what) const {
    if (type == AE_IFCHR && rdev == 0) return;
    if (nodev_) return;
    bad_layer(o_, what + " is a " + (type == AE_IFCHR ? "character" : "block") + " device (" +
                      std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev)) +
                      "); berth creates device nodes from layers only on a file system mounted "
                      "nodev, and " +
                      dir_ + " is not (containers get /dev from the runtime)");
  }

  // Whatever is at `name` goes, unless both are directories (tar semantics).
  static void replace(int parent, const std::string& name) { remove_tree_at(parent, name); }

  void make_dir(int parent, const std::string& name, const std::string& what) {
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) return;
      remove_tree_at(parent, name);
    }
    if (::mkdirat(parent, name.c_str(), 0700) != 0)
      throw_errno("cannot create directory for " + what);
  }

  void write_file(archive* a, archive_entry* e, int parent, const std::string& name,
                  const std::string& what) {
    replace(parent, name);
    int fd =
        ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw_errno("cannot create file for " + what);
    unique_fd guard(fd);
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    la_int64_t end = 0;
    std::int64_t got = 0;
    for (;;) {
      int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) {
        if (src_.over_limit()) over_unpacked_limit(o_);
        if (got < archive_entry_size(e))
          bad_layer(o_, what + " is truncated: its header claims " +
                            std::to_string(archive_entry_size(e)) + " bytes, only " +
                            std::to_string(got) + " follow");
        bad_layer(o_, "reading " + what + ": " +
                          (archive_error_string(a) ? archive_error_string(a) : "read error"));
      }
      got += static_cast<std::int64_t>(size);
      written_since_check_ += static_cast<std::int64_t>(size);
      if (written_since_check_ >= kSpaceCheckBytes) {
        written_since_check_ = 0;
        check_space(what);
      }
      const char* p = static_cast<const char*>(buf);
      size_t left = size;
      la_int64_t at = offset;
      while (left > 0) {
        ssize_t n = ::pwrite(fd, p, left, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("cannot write " + what);
        p += n;
        at += n;
        left -= static_cast<size_t>(n);
      }
      end = at;
    }
    // A sparse file ends in a hole the data blocks do not cover.
    if (end < archive_entry_size(e) && ::ftruncate(fd, archive_entry_size(e)) != 0)
      throw_errno("cannot size " + what);
  }

  void hard_link(int parent, const std::string& name, const char* target, const std::string& what) {
    auto tparts = split_entry_path(target, what + ": hard link target");
    if (tparts.empty()) bad_layer(o_, what + " is a hard link to the layer root");
    unique_fd tdir = open_dir_beneath(root_, tparts, tparts.size() - 1, false,
                                      what + " (hard link to \"" + std::string(target) + "\")");
    struct stat st {};
    if (::fstatat(tdir.get(), tparts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      bad_layer(o_, what + " is a hard link to \"" + std::string(target) +
                        "\", which is not in this layer");
    if (S_ISDIR(st.st_mode)) bad_layer(o_, what + " is a hard link to a directory");
    replace(parent, name);
    if (::linkat(tdir.get(), tparts.back().c_str(), parent, name.c_str(), 0) != 0)
      throw_errno("cannot create hard link for " + what);
  }

  void whiteout(int parent, const std::string& parent_path, const std::string& base,
                const std::string& what) {
    if (base == opaque_marker) {
      if (o_.whiteouts == whiteout_mode::overlay) {
        if (::fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) != 0)
          throw_errno("cannot mark directory opaque for " + what);
        return;
      }
      // Copy mode: drop what lower layers put here, keep this layer's entries.
      for (const auto& child : children(parent)) {
        std::string rel = parent_path.empty() ? child : parent_path + "/" + child;
        if (!written_.count(rel)) remove_tree_at(parent, child);
      }
      return;
    }
    if (base.rfind(".wh..wh.", 0) == 0) return;  // other AUFS metadata: nothing to apply
    std::string name = base.substr(whiteout_prefix.size());
    if (name.empty() || name == "." || name == "..")
      bad_layer(o_, what + " is a malformed whiteout");
    remove_tree_at(parent, name);
    if (o_.whiteouts == whiteout_mode::overlay &&
        ::mknodat(parent, name.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
      throw_errno("cannot create overlay whiteout for " + what);
  }

  static std::vector<std::string> children(int dir) {
    std::vector<std::string> out;
    int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot list a directory");
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      throw_errno("cannot list a directory");
    }
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
  }

  void set_metadata(int parent, const std::string& name, archive_entry* e, mode_t type,
                    const std::string& what) {
    const char* n = name.c_str();
    if (as_root_ && ::fchownat(parent, n, static_cast<uid_t>(archive_entry_uid(e)),
                               static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno("cannot set owner of " + what);
    if (type != AE_IFLNK && ::fchmodat(parent, n, archive_entry_perm(e) & 07777, 0) != 0)
      throw_errno("cannot set mode of " + what);
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    if (archive_entry_xattr_reset(e) > 0) {
      std::string proc = "/proc/self/fd/" + std::to_string(parent) + "/" + name;
      while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
        std::string_view k(key);
        if (!o_.limits.keep_privileged_xattrs &&
            (k.rfind("trusted.", 0) == 0 || k.rfind("security.", 0) == 0)) {
          dropped_.insert(key);
          continue;
        }
        if (::lsetxattr(proc.c_str(), key, value, size, 0) != 0 && errno != ENOTSUP)
          throw_errno("cannot set xattr " + std::string(key) + " on " + what);
      }
    }
    if (type != AE_IFDIR) {
      auto t = times_of(e);
      ::utimensat(parent, n, t.data(), AT_SYMLINK_NOFOLLOW);
    }
  }

  int root_;
  std::string dir_;
  const unpack_options& o_;
  decompressed_stream& src_;
  bool as_root_;
  bool nodev_;
  std::int64_t claimed_ = 0;              // file sizes the headers claimed so far
  std::int64_t written_since_check_ = 0;  // data written since free space was checked
  std::set<std::string> dropped_;
  std::set<std::string> written_;
  std::vector<dir_times> dirs_;
};

}  // namespace

std::string compute_diff_id(const std::string& layer_path, const std::string& what) {
  unpack_options o;
  o.what = what;
  decompressed_stream src(layer_path, what);
  src.drain();
  if (!src.error().empty()) bad_layer(o, "cannot decompress: " + src.error());
  return src.digest();
}

diff_id_result compute_diff_id(const std::string& layer_path, const unpack_options& o) {
  decompressed_stream src(layer_path, o.what, unpack_budget(o));
  src.drain();
  if (src.over_limit()) over_unpacked_limit(o);
  if (!src.error().empty()) bad_layer(o, "cannot decompress: " + src.error());
  return {src.digest(), src.bytes()};
}

unpack_result apply_layer(const std::string& layer_path, const std::string& dir,
                          const unpack_options& o) {
  unique_fd root = open_directory(dir);
  struct stat blob {};
  if (::stat(layer_path.c_str(), &blob) != 0) throw_errno("cannot read " + layer_path);
  check_free_space(dir, blob.st_size,
                   "it needs at least its compressed size, " + format_bytes(blob.st_size), o);
  decompressed_stream src(layer_path, o.what, unpack_budget(o));
  // What failed: the limit when the stream passed it, else `why`.
  auto stream_failure = [&](const std::string& why) {
    if (src.over_limit()) over_unpacked_limit(o);
    bad_layer(o, why + (src.error().empty() ? std::string() : src.error()));
  };
  archive_ptr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_format_gnutar(tar.get());
  if (archive_read_open(tar.get(), &src, nullptr, decompressed_stream::read_callback, nullptr) !=
      ARCHIVE_OK) {
    if (src.error().empty()) bad_layer(o, "not a tar archive: " + tar_error(tar.get(), src));
    stream_failure("not a tar archive: ");
  }

  layer_applier applier(root.get(), dir, o, src);
  unpack_result out;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(tar.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r == ARCHIVE_FATAL || r == ARCHIVE_RETRY) {
      if (src.error().empty())
        bad_layer(o, "corrupt tar after " + std::to_string(out.entries) +
                         " entries: " + tar_error(tar.get(), src));
      stream_failure("corrupt tar after " + std::to_string(out.entries) + " entries: ");
    }
    const char* name = archive_entry_pathname(e);
    std::string what = "layer entry \"" + std::string(name ? name : "") + "\"";
    if (out.entries >= o.limits.max_layer_entries)
      bad_layer(o, "it has more than " + std::to_string(o.limits.max_layer_entries) +
                       " entries, the limit per layer ([images] max_layer_entries); " + what +
                       " is one more");
    if (out.entries > 0 && out.entries % kSpaceCheckEntries == 0) applier.check_space(what);
    try {
      applier.apply(tar.get(), e);
    } catch (const images_error& err) {
      std::string msg = err.what();
      if (msg.rfind("cannot unpack ", 0) == 0) throw;
      throw images_error(err.kind(), "cannot unpack " + o.what + ": " + msg);
    }
    ++out.entries;
  }
  applier.finish();
  // The tar reader stops at the end-of-archive blocks; the diff id covers
  // every byte of the uncompressed stream, padding included.
  src.drain();
  if (!src.error().empty()) stream_failure("corrupt compressed stream: ");
  out.diff_id = src.digest();
  out.uncompressed_size = src.bytes();
  out.dropped_xattrs = applier.dropped_xattrs();
  if (!o.expected_diff_id.empty() && out.diff_id != o.expected_diff_id)
    bad_layer(o, "its content has diff id " + out.diff_id + ", the image config says " +
                     o.expected_diff_id);
  return out;
}

}  // namespace berth::images
