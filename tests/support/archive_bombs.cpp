#include "tests/support/archive_bombs.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "tests/support/image_archives.hpp"

namespace berth::test {

namespace {

using json = nlohmann::json;

constexpr std::size_t kBlock = 512;

std::uint64_t octal_field(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + (p[i] - '0');
  return v;
}

std::string media_type_of(const std::string& layer) {
  if (layer.size() >= 2 && static_cast<unsigned char>(layer[0]) == 0x1f &&
      static_cast<unsigned char>(layer[1]) == 0x8b)
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (layer.size() >= 4 && layer.compare(0, 4, "\x28\xb5\x2f\xfd") == 0)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

std::string config_of(const std::string& diff_id) {
  return json{{"architecture", "amd64"},
              {"os", "linux"},
              {"config", {{"Cmd", {"sh"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}}}
      .dump();
}

}  // namespace

std::string claim_size(std::string tar, const std::string& path, std::uint64_t claimed) {
  for (std::size_t at = 0; at + kBlock <= tar.size();) {
    auto* h = reinterpret_cast<unsigned char*>(tar.data() + at);
    if (h[0] == 0) break;  // end of archive
    std::uint64_t size = octal_field(h + 124, 12);
    if (std::strncmp(reinterpret_cast<char*>(h), path.c_str(), 100) == 0) {
      h[124] = 0x80;  // base-256: the other 11 bytes hold the size, big-endian
      for (int i = 11; i >= 1; --i, claimed >>= 8) h[124 + i] = claimed & 0xff;
      std::memset(h + 148, ' ', 8);
      unsigned sum = 0;
      for (std::size_t i = 0; i < kBlock; ++i) sum += h[i];
      std::snprintf(reinterpret_cast<char*>(h + 148), 8, "%06o", sum);
      h[155] = ' ';
      return tar;
    }
    at += kBlock + (size + kBlock - 1) / kBlock * kBlock;
  }
  throw std::runtime_error("claim_size: no entry \"" + path + "\" in the tar");
}

std::string gzip_zeros(std::uint64_t bytes) {
  constexpr std::uint64_t kMember = 64 << 20;
  auto member = [](std::uint64_t n) {
    archive* a = archive_write_new();
    archive_write_set_format_raw(a);
    archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    std::string out;
    auto append = [](archive*, void* client, const void* buf, size_t len) -> la_ssize_t {
      static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
      return static_cast<la_ssize_t>(len);
    };
    archive_write_open(a, &out, nullptr, append, nullptr);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "zeros");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_entry_free(e);
    std::vector<char> zeros(1 << 20, 0);
    for (std::uint64_t done = 0; done < n;) {
      auto step = std::min<std::uint64_t>(zeros.size(), n - done);
      archive_write_data(a, zeros.data(), step);
      done += step;
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  };
  std::string full = member(std::min(bytes, kMember));
  std::string out;
  for (std::uint64_t left = bytes; left > 0;) {
    if (left >= kMember) {
      out += full;
      left -= kMember;
    } else {
      out += member(left);
      left = 0;
    }
  }
  return out;
}

void write_oci_with_raw_layer(const std::string& path, const std::string& layer,
                              const std::string& diff_id, const std::string& name) {
  std::string config = config_of(diff_id);
  std::string manifest = json{{"schemaVersion", 2},
                              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                              {"config",
                               {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                {"digest", sha256_of(config)},
                                {"size", config.size()}}},
                              {"layers",
                               {{{"mediaType", media_type_of(layer)},
                                 {"digest", sha256_of(layer)},
                                 {"size", layer.size()}}}}}
                             .dump();
  json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", sha256_of(manifest)},
                   {"size", manifest.size()},
                   {"annotations", {{"org.opencontainers.image.ref.name", name}}}}}}};
  write_file(path,
             make_tar({{tar_entry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                       {tar_entry::file, "blobs/sha256/" + hex_of(sha256_of(layer)), layer},
                       {tar_entry::file, "blobs/sha256/" + hex_of(sha256_of(config)), config},
                       {tar_entry::file, "blobs/sha256/" + hex_of(sha256_of(manifest)), manifest},
                       {tar_entry::file, "index.json", index.dump()}}));
}

void write_docker_with_raw_layer(const std::string& path, const std::string& layer,
                                 const std::string& diff_id, const std::string& name) {
  std::string config = config_of(diff_id);
  std::string config_name = hex_of(sha256_of(config)) + ".json";
  json manifest = json::array(
      {{{"Config", config_name}, {"Layers", {"layer0/layer.tar"}}, {"RepoTags", {name}}}});
  write_file(path, make_tar({{tar_entry::file, "layer0/layer.tar", layer},
                             {tar_entry::file, config_name, config},
                             {tar_entry::file, "manifest.json", manifest.dump()}}));
}

void write_nested_index_archive(const std::string& path, int depth) {
  const std::string index_type = "application/vnd.oci.image.index.v1+json";
  auto index_of = [](const std::string& type, const std::string& digest, std::size_t size) {
    return json{{"schemaVersion", 2},
                {"manifests", {{{"mediaType", type}, {"digest", digest}, {"size", size}}}}}
        .dump();
  };
  std::vector<tar_entry> entries;
  entries.emplace_back(tar_entry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string inner =
      index_of("application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'a'), 2);
  for (int level = 0; level < depth; ++level) {
    auto digest = sha256_of(inner);
    entries.emplace_back(tar_entry::file, "blobs/sha256/" + hex_of(digest), inner);
    inner = index_of(index_type, digest, inner.size());
  }
  entries.emplace_back(tar_entry::file, "index.json", inner);
  write_file(path, make_tar(entries));
}

void write_json_flood_archive(const std::string& path, int count, std::size_t size) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK)
    throw std::runtime_error("cannot write " + path + ": " + archive_error_string(a));
  std::vector<char> spaces(1 << 20, ' ');
  for (int i = 0; i < count; ++i) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("meta/" + std::to_string(i) + ".json").c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_write_header(a, e);
    archive_entry_free(e);
    for (std::size_t done = 0; done < size;) {
      auto step = std::min(spaces.size(), size - done);
      archive_write_data(a, spaces.data(), step);
      done += step;
    }
  }
  archive_write_close(a);
  archive_write_free(a);
}

}  // namespace berth::test
