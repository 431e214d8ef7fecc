#include "actors/images/decompressed_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <initializer_list>

#include "actors/images/images_error.hpp"

namespace berth::images {

namespace {

// Four 1 MiB buffers: enough to keep both threads busy, little memory.
constexpr std::size_t kChunk = 1 << 20;
constexpr int kChunks = 4;

// libarchive's message, which may be null (a stream that ends before its
// first header sets none): never hand a null to std::string.
std::string error_text(archive* a, const char* fallback) {
  const char* e = archive_error_string(a);
  return e ? e : fallback;
}

}  // namespace

std::string refused_compression(const std::string& path) {
  unsigned char head[6] = {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    if (n < static_cast<ssize_t>(magic.size())) return false;
    return std::equal(magic.begin(), magic.end(), head);
  };
  if (starts({0xFD, '7', 'z', 'X', 'Z', 0x00})) return "xz";
  if (starts({'B', 'Z', 'h'})) return "bzip2";
  if (starts({0x04, 0x22, 0x4D, 0x18})) return "lz4";
  if (starts({'L', 'Z', 'I', 'P'})) return "lzip";
  if (starts({0x1F, 0x9D})) return "compress";
  if (starts({0x5D, 0x00, 0x00})) return "lzma";
  return "";
}

void accept_compressions(archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
}

decompressed_stream::decompressed_stream(const std::string& path, const std::string& what,
                                         std::int64_t max_bytes)
    : outer_(archive_read_new()), max_bytes_(max_bytes) {
  if (auto name = refused_compression(path); !name.empty())
    throw images_error(error_kind::invalid_argument,
                       "cannot unpack " + what + ": it is compressed with " + name +
                           "; berth accepts gzip, zstd or uncompressed layers");
  accept_compressions(outer_.get());
  archive_read_support_format_raw(outer_.get());
  archive_entry* raw_entry = nullptr;
  if (archive_read_open_filename(outer_.get(), path.c_str(), kChunk) != ARCHIVE_OK ||
      archive_read_next_header(outer_.get(), &raw_entry) != ARCHIVE_OK)
    throw images_error(error_kind::invalid_argument,
                       "cannot unpack " + what + ": cannot decompress: " +
                           error_text(outer_.get(), "the data is corrupt or empty"));
  for (int i = 0; i < kChunks; ++i) free_.push_back({std::vector<char>(kChunk), 0});
  producer_ = std::thread([this] { produce(); });
}

decompressed_stream::~decompressed_stream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  producer_.join();
}

void decompressed_stream::produce() {
  for (;;) {
    chunk c;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      c = std::move(free_.back());
      free_.pop_back();
    }
    c.size = archive_read_data(outer_.get(), c.data.data(), c.data.size());
    std::string why;
    bool over = false;
    if (c.size > 0 && max_bytes_ >= 0 && bytes_ + c.size > max_bytes_) {
      // Not one byte past the limit reaches the consumer.
      over = true;
      why = "it decompresses to more than " + std::to_string(max_bytes_) + " bytes";
      c.size = -1;
    } else if (c.size > 0) {
      hasher_.update(c.data.data(), static_cast<std::size_t>(c.size));
      bytes_ += c.size;
    } else if (c.size < 0) {
      why = error_text(outer_.get(), "read error");
      c.size = -1;
    }
    bool last = c.size <= 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!why.empty()) error_ = why;
      if (over) over_limit_ = true;
      filled_.push_back(std::move(c));
    }
    changed_.notify_all();
    if (last) return;
  }
}

la_ssize_t decompressed_stream::next(const void** out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_) return filled_.empty() ? 0 : filled_.front().size;
  if (!current_.data.empty()) {
    free_.push_back(std::move(current_));
    current_ = {};
    changed_.notify_all();
  }
  changed_.wait(lock, [this] { return !filled_.empty(); });
  if (filled_.front().size <= 0) {
    ended_ = true;  // stays at the front: every later call answers the same
    return filled_.front().size;
  }
  current_ = std::move(filled_.front());
  filled_.pop_front();
  *out = current_.data.data();
  return current_.size;
}

void decompressed_stream::drain() {
  const void* out = nullptr;
  while (next(&out) > 0) {
  }
}

std::string decompressed_stream::digest() {
  // The producer has ended (next() saw the last chunk): the hasher is ours.
  return hasher_.finish();
}

}  // namespace berth::images
