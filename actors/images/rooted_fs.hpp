// File system access confined to a root directory: every path is walked one
// component at a time with openat(O_NOFOLLOW), so nothing an archive or an
// image contains can make berth touch a file outside that root.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::images {

// An owned file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens a directory (O_DIRECTORY, O_NOFOLLOW); throws images_error naming `dir`.
unique_fd open_directory(const std::string& dir);

// The components of an archive entry path: "./a//b/" -> {"a","b"}. A
// leading "/" means the layer root (umoci writes "/" for it). ".." is refused
// (invalid_argument naming `what` and the path): layers never need it and it
// is how entries escape.
std::vector<std::string> split_entry_path(std::string_view path, std::string_view what);

// "a/b/c" from components.
std::string join_path(const std::vector<std::string>& parts, std::size_t count);

// Opens the directory named by parts[0..count) below `root`. A component
// that is a symlink is refused ("goes through symlink"), one that is missing
// is created (mode 0755) when `create` is set, else not_found.
unique_fd open_dir_beneath(int root, const std::vector<std::string>& parts, std::size_t count,
                           bool create, std::string_view what);

// Opens `path` for reading below `root` with symlinks resolved as if `root`
// were "/" (openat2 RESOLVE_IN_ROOT), as the container itself would see it.
// Returns an invalid fd when the file does not exist.
unique_fd open_file_in_root(int root, const std::string& path);

// Removes `name` in `dir` and, for a directory, everything below it, never
// following symlinks. Missing is fine.
void remove_tree_at(int dir, const std::string& name);

// Removes everything inside the directory `dir` (which stays).
void clear_directory(int dir);

// Removes the tree at `path` (a directory or file); missing is fine.
void remove_tree(const std::string& path);

}  // namespace berth::images
