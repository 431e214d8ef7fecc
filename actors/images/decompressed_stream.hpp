// The uncompressed stream of a layer blob (gzip, zstd or plain), decompressed
// and hashed on a thread of its own while the caller consumes it, the way
// `tar -xz` runs gzip beside tar: unpacking then costs the slower of the two
// halves rather than their sum. The hash is the layer's diff id.
#pragma once

#include <archive.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/images/digest.hpp"

namespace berth::images {

// The name of a compression berth refuses ("xz", "bzip2", "lz4", "lzma",
// "compress", "lzip") when the file at `path` starts with its magic bytes, or
// "" (gzip, zstd, or none: the only ones libarchive may run on untrusted
// bytes here).
std::string refused_compression(const std::string& path);

// Restricts `a` to the decompressors berth accepts: gzip and zstd.
void accept_compressions(archive* a);

class decompressed_stream {
 public:
  // Opens the blob and starts decompressing. Throws images_error
  // (invalid_argument, "cannot decompress <what>: …") when it cannot. A
  // stream longer than `max_bytes` (-1: no limit) ends there as corrupt,
  // with over_limit() set: a decompression bomb costs at most that much.
  decompressed_stream(const std::string& path, const std::string& what,
                      std::int64_t max_bytes = -1);
  ~decompressed_stream();  // stops the thread
  decompressed_stream(const decompressed_stream&) = delete;
  decompressed_stream& operator=(const decompressed_stream&) = delete;

  // The next chunk, valid until the following call: its size, 0 at the end,
  // -1 on a corrupt stream (error() says why). A libarchive read callback.
  la_ssize_t next(const void** out);
  static la_ssize_t read_callback(archive*, void* self, const void** out) {
    return static_cast<decompressed_stream*>(self)->next(out);
  }
  // Consumes the rest (the diff id covers every byte, tar padding included).
  void drain();

  // Both may be asked while the producer still runs (a tar-level failure
  // before the stream's end), so they take the lock.
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  // The stream went past max_bytes (valid once next() returned -1).
  bool over_limit() const {
    std::lock_guard<std::mutex> lock(mu_);
    return over_limit_;
  }
  // "sha256:<hex>" of the whole stream; call once next() returned 0.
  std::string digest();
  std::int64_t bytes() const { return bytes_; }

 private:
  struct archive_free {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  struct chunk {
    std::vector<char> data;
    la_ssize_t size = 0;
  };
  void produce();

  std::unique_ptr<archive, archive_free> outer_;
  sha256_hasher hasher_;  // the producer's until it ends
  std::int64_t bytes_ = 0;
  std::int64_t max_bytes_;
  std::string error_;
  bool over_limit_ = false;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<chunk> filled_;  // in stream order; a size <= 0 chunk ends it
  std::vector<chunk> free_;   // buffers to fill
  chunk current_;             // handed to the consumer
  bool stop_ = false, ended_ = false;
  std::thread producer_;
};

}  // namespace berth::images
