// The single pass over an image archive: blobs go to the content store
// (digest and size verified), small JSON files (manifest.json, index.json,
// docker configs) stay in memory, and links between entries are remembered
// (docker save links a repeated layer to its first copy).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <string>
#include <vector>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"

namespace berth::images {

class archive_reader {
 public:
  archive_reader(const content_store& store, const std::string& path, const import_options& o)
      : store_(store), path_(path), o_(o) {}

  // Reads every entry; throws images_error (the archive named) on a bad tar or blob.
  void read_all();

  const std::string& path() const { return path_; }
  // The digest of the blob stored from entry `name` (links followed), or "".
  std::string blob_of(const std::string& name) const;
  // The layer media type guessed from the entry's first bytes.
  std::string layer_type_of(const std::string& name) const;
  // The text of a JSON entry, or nullptr.
  const std::string* json_of(const std::string& name) const;
  bool has_json(const std::string& name) const { return json_of(name) != nullptr; }
  // Blobs this import put into the store (to remove when it fails).
  const std::vector<std::string>& added() const { return added_; }
  void add(const std::string& digest) { added_.push_back(digest); }
  import_progress& progress() { return progress_; }

  [[noreturn]] void fail(const std::string& why) const;

 private:
  struct stored_blob {
    std::string digest;
    std::string layer_type;
  };

  std::string resolve(std::string name) const;
  void read_file(archive* a, archive_entry* e, const std::string& name, const std::string& raw);
  std::string read_small(archive* a, const std::string& raw, std::int64_t size);
  void report(archive* a, bool entry_done);
  // Refuses (fail) when `need` more bytes would leave the content store's
  // file system under the reserve; `need_text` says what needs them.
  void check_space(std::int64_t need, const std::string& need_text) const;

  const content_store& store_;
  std::string path_;
  const import_options& o_;
  import_progress progress_;
  std::int64_t last_report_ = 0;
  std::map<std::string, stored_blob> blobs_;
  std::map<std::string, std::string> json_;
  std::int64_t json_bytes_ = 0;  // what json_ holds
  std::map<std::string, std::string> links_;
  std::vector<std::string> added_;
};

}  // namespace berth::images
