// The content store: blobs addressed by digest under <root>/content/blobs/sha256/<hex>.
// A write goes to a temp file in <root>/content/ingest/, is hashed while it is
// written, checked against the expected digest and size, fsynced and renamed
// into place, so a blob that is visible is always complete and correct.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "actors/images/digest.hpp"

namespace berth::images {

class content_store;

// One blob being written. Destroying it without commit() discards the data.
class blob_writer {
 public:
  blob_writer(blob_writer&& other) noexcept;
  blob_writer& operator=(blob_writer&&) = delete;
  blob_writer(const blob_writer&) = delete;
  ~blob_writer();

  void write(const void* data, std::size_t size);
  void write(std::string_view data) { write(data.data(), data.size()); }
  std::int64_t written() const { return written_; }

  struct committed {
    std::string digest;
    std::int64_t size = 0;
    bool created = false;  // false: the blob was already in the store
  };
  // Verifies digest and size (when expected ones were given), fsyncs and
  // publishes the blob. Throws images_error (invalid_argument on a mismatch).
  committed commit();

 private:
  friend class content_store;
  blob_writer(const content_store& store, std::string temp_path, int fd, std::string expected,
              std::int64_t expected_size, std::string what);
  void discard();

  const content_store* store_;
  std::string temp_path_;
  int fd_ = -1;
  std::string expected_;
  std::int64_t expected_size_;
  std::string what_;  // names the blob in messages, e.g. "layer.tar in archive x.tar"
  std::int64_t written_ = 0;
  std::int64_t flushed_ = 0;  // handed to writeback (sync_file_range) so far
  static constexpr std::int64_t kWritebackStep = 8 << 20;
  sha256_hasher hasher_;
};

struct gc_result {
  std::vector<std::string> removed;  // digests
  std::int64_t bytes_freed = 0;
};

class content_store {
 public:
  // Creates <root>/content/{blobs/sha256,ingest} when missing.
  explicit content_store(std::string root);

  const std::string& root() const { return root_; }

  // `digest` is validated first (invalid_argument when malformed).
  bool has(std::string_view digest) const;
  std::string path(std::string_view digest) const;
  std::int64_t size(std::string_view digest) const;  // not_found when absent
  // The whole blob; refuses blobs larger than max_size (manifests and configs are small).
  std::string read(std::string_view digest, std::size_t max_size = 16 << 20) const;

  // Starts a write. `expected_digest` (may be empty: computed) and
  // `expected_size` (-1: unknown) are checked at commit; `what` names the
  // blob's origin in error messages.
  blob_writer begin_write(std::string expected_digest = {}, std::int64_t expected_size = -1,
                          std::string what = "blob") const;
  // One-shot write of a small blob; returns its digest.
  blob_writer::committed write(std::string_view data, std::string expected_digest = {},
                               std::string what = "blob") const;

  // Removes a blob; false when it was not there.
  bool remove(std::string_view digest) const;  // with its sources

  // Where a blob came from: each "host/repository" a pull found it in, so a
  // push to another repository of that registry can ask to mount it rather
  // than upload it. Kept under <root>/content/sources, removed with the blob.
  void add_source(std::string_view digest, const std::string& repository) const;
  std::vector<std::string> sources(std::string_view digest) const;
  std::vector<std::string> list() const;
  // Removes every blob not in `referenced`.
  gc_result collect_garbage(const std::set<std::string>& referenced) const;
  // Removes leftovers of writes that never committed (a crash mid-import).
  void clean_ingest() const;

  std::string blobs_dir() const { return root_ + "/content/blobs/sha256"; }
  std::string ingest_dir() const { return root_ + "/content/ingest"; }
  std::string sources_path(std::string_view digest) const;

 private:
  std::string root_;
};

}  // namespace berth::images
