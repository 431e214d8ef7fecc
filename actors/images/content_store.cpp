#include "actors/images/content_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"

namespace berth::images {

namespace fs = std::filesystem;

void throw_errno(const std::string& what) {
  throw images_error(error_kind::internal, what + ": " + std::strerror(errno));
}

namespace {

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw_errno("cannot fsync " + dir);
}

}  // namespace

blob_writer::blob_writer(const content_store& store, std::string temp_path, int fd,
                         std::string expected, std::int64_t expected_size, std::string what)
    : store_(&store),
      temp_path_(std::move(temp_path)),
      fd_(fd),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      what_(std::move(what)) {}

blob_writer::blob_writer(blob_writer&& other) noexcept
    : store_(other.store_),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      expected_(std::move(other.expected_)),
      expected_size_(other.expected_size_),
      what_(std::move(other.what_)),
      written_(other.written_),
      flushed_(other.flushed_),
      hasher_(std::move(other.hasher_)) {
  other.temp_path_.clear();
}

blob_writer::~blob_writer() {
  discard();
}

void blob_writer::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

void blob_writer::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + what_ + " to " + temp_path_);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  hasher_.update(data, size);
  written_ += static_cast<std::int64_t>(size);
  // Start writeback of what is written as we go, so the fsync at commit
  // waits for the last few MiB, not the whole blob: a layer's disk writes
  // overlap its reading and hashing.
  if (written_ - flushed_ >= kWritebackStep) {
    ::sync_file_range(fd_, flushed_, written_ - flushed_, SYNC_FILE_RANGE_WRITE);
    flushed_ = written_;
  }
}

blob_writer::committed blob_writer::commit() {
  std::string digest = hasher_.finish();
  if (!expected_.empty() && digest != expected_) {
    discard();
    throw images_error(
        error_kind::invalid_argument,
        "digest mismatch for " + what_ + ": expected " + expected_ + ", content is " + digest);
  }
  if (expected_size_ >= 0 && written_ != expected_size_) {
    discard();
    throw images_error(error_kind::invalid_argument, "size mismatch for " + what_ + ": expected " +
                                                         std::to_string(expected_size_) +
                                                         " bytes, got " + std::to_string(written_));
  }
  if (::fsync(fd_) != 0) throw_errno("cannot fsync " + temp_path_);
  ::close(fd_);
  fd_ = -1;
  std::string target = store_->path(digest);
  committed out{digest, written_, false};
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    discard();  // identical content already present
    return out;
  }
  if (::chmod(temp_path_.c_str(), 0444) != 0) throw_errno("cannot chmod " + temp_path_);
  if (::rename(temp_path_.c_str(), target.c_str()) != 0)
    throw_errno("cannot publish blob " + digest + " (" + what_ + ")");
  temp_path_.clear();
  fsync_dir(store_->blobs_dir());
  out.created = true;
  return out;
}

content_store::content_store(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(blobs_dir(), ec);
  if (!ec) fs::create_directories(ingest_dir(), ec);
  if (ec)
    throw images_error(error_kind::internal,
                       "cannot create content store under " + root_ + ": " + ec.message());
}

bool content_store::has(std::string_view digest) const {
  struct stat st {};
  return ::stat(path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string content_store::path(std::string_view digest) const {
  if (!is_valid_digest(digest))
    throw images_error(error_kind::invalid_argument,
                       "\"" + std::string(digest) +
                           "\" is not a digest (expected sha256: and 64 lowercase hex digits)");
  return blobs_dir() + "/" + std::string(digest_hex(digest));
}

std::int64_t content_store::size(std::string_view digest) const {
  struct stat st {};
  if (::stat(path(digest).c_str(), &st) != 0)
    throw images_error(error_kind::not_found, "blob " + std::string(digest) + " not found");
  return st.st_size;
}

std::string content_store::read(std::string_view digest, std::size_t max_size) const {
  std::string p = path(digest);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      throw images_error(error_kind::not_found,
                         "blob " + std::string(digest) + " not found in the content store");
    throw_errno("cannot open blob " + std::string(digest));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw_errno("cannot read blob " + std::string(digest));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_size) {
      ::close(fd);
      throw images_error(error_kind::invalid_argument,
                         "blob " + std::string(digest) + " is larger than " +
                             std::to_string(max_size) +
                             " bytes, too large to be a manifest or config");
    }
  }
  ::close(fd);
  return out;
}

blob_writer content_store::begin_write(std::string expected_digest, std::int64_t expected_size,
                                       std::string what) const {
  if (!expected_digest.empty()) path(expected_digest);  // validates
  std::string temp = ingest_dir() + "/ingest-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) throw_errno("cannot create a temp file in " + ingest_dir());
  return blob_writer(*this, std::move(temp), fd, std::move(expected_digest), expected_size,
                     std::move(what));
}

blob_writer::committed content_store::write(std::string_view data, std::string expected_digest,
                                            std::string what) const {
  auto w = begin_write(std::move(expected_digest), static_cast<std::int64_t>(data.size()),
                       std::move(what));
  w.write(data);
  return w.commit();
}

namespace {
constexpr std::size_t kMaxSources = 16;  // enough to find a mount; bounded
}

std::string content_store::sources_path(std::string_view digest) const {
  path(digest);  // validates
  return root_ + "/content/sources/" + std::string(digest_hex(digest));
}

void content_store::add_source(std::string_view digest, const std::string& repository) const {
  auto known = sources(digest);
  if (known.size() >= kMaxSources ||
      std::find(known.begin(), known.end(), repository) != known.end())
    return;
  std::string file = sources_path(digest);
  ::mkdir((root_ + "/content/sources").c_str(), 0700);
  // One short line with O_APPEND: concurrent pulls cannot interleave it. A
  // lost line only costs an upload that a mount would have saved.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = repository + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

std::vector<std::string> content_store::sources(std::string_view digest) const {
  std::vector<std::string> out;
  std::ifstream in(sources_path(digest));
  for (std::string line; std::getline(in, line) && out.size() < kMaxSources;)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool content_store::remove(std::string_view digest) const {
  ::unlink(sources_path(digest).c_str());
  if (::unlink(path(digest).c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("cannot remove blob " + std::string(digest));
}

std::vector<std::string> content_store::list() const {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(blobs_dir())) {
    std::string d = "sha256:" + e.path().filename().string();
    if (is_valid_digest(d)) out.push_back(std::move(d));
  }
  return out;
}

gc_result content_store::collect_garbage(const std::set<std::string>& referenced) const {
  gc_result out;
  for (const auto& d : list()) {
    if (referenced.count(d)) continue;
    std::int64_t sz = size(d);
    if (remove(d)) {
      out.removed.push_back(d);
      out.bytes_freed += sz;
    }
  }
  return out;
}

void content_store::clean_ingest() const {
  for (const auto& e : fs::directory_iterator(ingest_dir())) {
    std::error_code ec;
    fs::remove(e.path(), ec);
  }
}

}  // namespace berth::images
