#include "actors/images/archive_reader.hpp"

#include <sys/stat.h>

#include <cstring>
#include <memory>

#include "actors/images/decompressed_stream.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/image_limits.hpp"
#include "actors/images/images_error.hpp"

namespace berth::images {

namespace {

constexpr std::int64_t kMaxJsonEntry = 16 << 20;
// What an archive's metadata (its JSON entries) may hold in memory at once.
constexpr std::size_t kMaxJsonEntries = 4096;
constexpr std::int64_t kMaxJsonTotal = 64 << 20;
// Free space is checked again after this much of a blob is written.
constexpr std::int64_t kSpaceCheckBytes = 16 << 20;

struct archive_free {
  void operator()(archive* a) const { archive_read_free(a); }
};

// "./a//b/../c" -> "a/c" (entry names only; nothing here becomes a path on disk)
std::string clean_path(const std::string& p) {
  std::string out;
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string part = p.substr(start, end - start);
    if (part == "..") {
      auto slash = out.rfind('/');
      out = slash == std::string::npos ? std::string() : out.substr(0, slash);
    } else if (!part.empty() && part != ".") {
      out += (out.empty() ? "" : "/") + part;
    }
    start = end + 1;
  }
  return out;
}

std::string sniff_layer_type(const unsigned char* head, std::size_t n) {
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return media_type::oci_layer_gzip;
  if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
    return media_type::oci_layer_zstd;
  return media_type::oci_layer;
}

std::string error_of(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

}  // namespace

void archive_reader::fail(const std::string& why) const {
  throw images_error(error_kind::invalid_argument, "cannot import " + path_ + ": " + why);
}

void archive_reader::read_all() {
  std::unique_ptr<archive, archive_free> a(archive_read_new());
  if (auto name = refused_compression(path_); !name.empty())
    fail("it is compressed with " + name + "; berth accepts gzip, zstd or an uncompressed tar");
  accept_compressions(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    throw images_error(error_kind::not_found,
                       "cannot import " + path_ + ": " + std::strerror(errno));
  progress_.bytes_total = st.st_size;
  if (archive_read_open_filename(a.get(), path_.c_str(), 1 << 20) != ARCHIVE_OK)
    fail("not a tar archive: " + error_of(a.get()));
  std::string last;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      fail(last.empty() ? "not a tar archive: " + error_of(a.get())
                        : "the tar is truncated or corrupt after entry \"" + last +
                              "\": " + error_of(a.get()));
    last = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    std::string name = clean_path(last);
    if (const char* link = archive_entry_hardlink(e)) {
      links_[name] = clean_path(link);
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
      auto slash = name.rfind('/');
      std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
      const char* target = archive_entry_symlink(e);
      links_[name] = clean_path(dir + (target ? target : ""));
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      read_file(a.get(), e, name, last);
    }
    report(a.get(), true);
  }
}

std::string archive_reader::resolve(std::string name) const {
  for (int i = 0; i < 16; ++i) {
    auto it = links_.find(name);
    if (it == links_.end()) break;
    name = it->second;
  }
  return name;
}

std::string archive_reader::blob_of(const std::string& name) const {
  auto it = blobs_.find(resolve(clean_path(name)));
  return it == blobs_.end() ? std::string() : it->second.digest;
}

std::string archive_reader::layer_type_of(const std::string& name) const {
  auto it = blobs_.find(resolve(clean_path(name)));
  return it == blobs_.end() ? std::string() : it->second.layer_type;
}

const std::string* archive_reader::json_of(const std::string& name) const {
  auto it = json_.find(resolve(clean_path(name)));
  return it == json_.end() ? nullptr : &it->second;
}

void archive_reader::read_file(archive* a, archive_entry* e, const std::string& name,
                               const std::string& raw) {
  std::int64_t size = archive_entry_size(e);
  std::string expected;
  constexpr std::string_view blob_dir = "blobs/sha256/";
  if (name.rfind(blob_dir, 0) == 0) {
    expected = "sha256:" + name.substr(blob_dir.size());
    if (!is_valid_digest(expected))
      fail("entry \"" + raw + "\" is in blobs/sha256/ but its name is not a sha256 digest");
  } else if (size <= kMaxJsonEntry &&
             (name.ends_with(".json") || name == "oci-layout" || name == "repositories")) {
    if (json_.size() >= kMaxJsonEntries)
      fail("it has more than " + std::to_string(kMaxJsonEntries) +
           " JSON entries (the limit on metadata held in memory)");
    json_bytes_ += size;
    if (json_bytes_ > kMaxJsonTotal)
      fail("its JSON entries hold more than " + std::to_string(kMaxJsonTotal >> 20) +
           " MiB (the limit on metadata held in memory)");
    json_[name] = read_small(a, raw, size);
    return;
  }
  check_space(size, "entry \"" + raw + "\" claims " + format_bytes(size));
  auto writer = store_.begin_write(expected, size, "entry \"" + raw + "\" of " + path_);
  std::int64_t since_check = 0;
  unsigned char head[8] = {};
  std::size_t head_len = 0;
  const void* buf = nullptr;
  size_t len = 0;
  la_int64_t offset = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK)
      fail("the tar is truncated or corrupt inside entry \"" + raw + "\": " + error_of(a));
    if (head_len < sizeof head) {
      std::size_t n = std::min(sizeof head - head_len, len);
      std::memcpy(head + head_len, buf, n);
      head_len += n;
    }
    writer.write(buf, len);
    since_check += static_cast<std::int64_t>(len);
    if (since_check >= kSpaceCheckBytes) {
      since_check = 0;
      check_space(0, "entry \"" + raw + "\"");
    }
    report(a, false);
  }
  blob_writer::committed c;
  try {
    c = writer.commit();
  } catch (const images_error& err) {
    fail(err.what());
  }
  if (c.created) added_.push_back(c.digest);
  if (size > 1024) ++progress_.layers_done;  // manifests and configs stay below
  blobs_[name] = {c.digest, sniff_layer_type(head, head_len)};
}

std::string archive_reader::read_small(archive* a, const std::string& raw, std::int64_t size) {
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n <= 0)
      fail("the tar is truncated or corrupt inside entry \"" + raw + "\": " + error_of(a));
    got += static_cast<std::size_t>(n);
  }
  return out;
}

void archive_reader::check_space(std::int64_t need, const std::string& need_text) const {
  std::int64_t free = free_bytes(store_.root() + "/content");
  std::int64_t reserve = o_.limits.free_space_reserve;
  if (free - need >= reserve) return;
  std::string rule = "the reserve of " + format_bytes(reserve) + " ([images] free_space_reserve)";
  if (need > 0)
    fail(need_text + ", and the content store's file system has " + format_bytes(free) +
         " free: that would leave less than " + rule);
  fail("the free space of the content store's file system fell to " + format_bytes(free) +
       ", under " + rule + ", while writing " + need_text);
}

void archive_reader::report(archive* a, bool entry_done) {
  progress_.bytes_done = archive_filter_bytes(a, -1);
  // At most one report per MiB inside a blob: a callback may cost a message.
  if (!o_.progress || (!entry_done && progress_.bytes_done - last_report_ < (1 << 20))) return;
  last_report_ = progress_.bytes_done;
  o_.progress(progress_);
}

}  // namespace berth::images
