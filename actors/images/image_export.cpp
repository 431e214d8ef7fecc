#include "actors/images/image_export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"

namespace berth::images {

namespace {

struct archive_closer {
  void operator()(archive* a) const { archive_write_free(a); }
};

class layout_writer {
 public:
  explicit layout_writer(const std::string& path) : path_(path), a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_.get());
    if (archive_write_open_filename(a_.get(), path.c_str()) != ARCHIVE_OK)
      fail("cannot create " + path);
  }

  void add_bytes(const std::string& name, const std::string& data) {
    header(name, static_cast<std::int64_t>(data.size()));
    if (!data.empty() && archive_write_data(a_.get(), data.data(), data.size()) < 0)
      fail("cannot write " + name + " to " + path_);
  }

  void add_blob(const content_store& store, const std::string& digest) {
    std::string name = "blobs/sha256/" + std::string(digest_hex(digest));
    int fd = ::open(store.path(digest).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open blob " + digest);
    std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* f) { ::close(*f); });
    header(name, store.size(digest));
    std::string buf(1 << 20, '\0');
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0)
      if (archive_write_data(a_.get(), buf.data(), static_cast<std::size_t>(n)) < 0)
        fail("cannot write " + name + " to " + path_);
    if (n < 0) throw_errno("cannot read blob " + digest);
  }

  std::int64_t finish() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("cannot finish " + path_);
    return archive_filter_bytes(a_.get(), -1);
  }

 private:
  void header(const std::string& name, std::int64_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), size);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK)
      fail("cannot write the header of " + name + " to " + path_);
  }
  [[noreturn]] void fail(const std::string& what) {
    throw images_error(error_kind::internal, what + ": " + archive_error_string(a_.get()));
  }

  std::string path_;
  std::unique_ptr<archive, archive_closer> a_;
};

}  // namespace

std::int64_t export_archive(const content_store& store, const std::vector<export_image>& images,
                            const std::string& path) {
  if (images.empty()) throw images_error(error_kind::invalid_argument, "no image to export");
  try {
    layout_writer out(path);
    out.add_bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    nlohmann::json manifests = nlohmann::json::array();
    std::set<std::string> written;
    std::vector<resolved_target> resolved;
    for (const auto& img : images) {
      auto r = resolve_target(store, img.manifest_digest,
                              "which the content store has lost (image " + img.name + ")");
      manifests.push_back({{"mediaType", r.media_type},
                           {"digest", r.digest},
                           {"size", r.size},
                           {"annotations",
                            {{"org.opencontainers.image.ref.name", img.name},
                             {"io.containerd.image.name", img.name}}}});
      resolved.push_back(std::move(r));
    }
    out.add_bytes("index.json", nlohmann::json{{"schemaVersion", 2},
                                               {"mediaType", media_type::oci_index},
                                               {"manifests", manifests}}
                                    .dump());
    for (const auto& t : resolved) {
      std::vector<std::string> blobs{t.digest};
      for (const auto& r : t.manifests) {
        blobs.insert(blobs.end(), {r.manifest_digest, r.config_digest});
        for (const auto& l : r.layers) blobs.push_back(l.digest);
      }
      for (const auto& a : t.attached) {
        blobs.push_back(a.manifest.digest);
        for (const auto& b : a.blobs) blobs.push_back(b.digest);
      }
      for (const auto& d : blobs)
        if (written.insert(d).second) out.add_blob(store, d);
    }
    return out.finish();
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
}

}  // namespace berth::images
