// The images table (schema_v2.sql): names pointing at manifest digests.
#include <sqlite3.h>

#include "actors/errors.hpp"
#include "actors/store/metadata_store.hpp"
#include "actors/store/sql.hpp"

namespace berth {
namespace {

using namespace sql;

#define BERTH_IMAGE_COLUMNS \
  "namespace, name, target, media_type, size, labels, created_at, updated_at"

image_record read_image(const row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3), r.integer(4), labels_from_json(r.text(5)),
          r.time(6), r.time(7)};
}

std::string image_name(const std::string& ns, const std::string& name) {
  return "image \"" + name + "\" in namespace \"" + ns + "\"";
}

// Image names arrive normalised by the images library; the store only keeps
// out what no reference can hold (empty, huge, control characters, spaces).
caf::error check_image_name(const std::string& name) {
  if (name.empty()) return make_error(errc::invalid_argument, "image name must not be empty");
  if (name.size() > 512)
    return make_error(errc::invalid_argument,
                      "image name \"" + name.substr(0, 64) + "...\" is longer than 512 bytes");
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7f)
      return make_error(errc::invalid_argument,
                        "image name \"" + name + "\" contains a space or control character");
  return caf::none;
}

bool is_digest(const std::string& d) {
  if (d.size() != 71 || d.compare(0, 7, "sha256:") != 0) return false;
  for (std::size_t i = 7; i < d.size(); ++i)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'))) return false;
  return true;
}

std::optional<image_record> find_image(sqlite3* db, const std::string& ns,
                                       const std::string& name) {
  return query_one<image_record>(
      db, "SELECT " BERTH_IMAGE_COLUMNS " FROM images WHERE namespace = ?1 AND name = ?2",
      read_image, ns, name);
}

}  // namespace

caf::expected<image_record> metadata_store::put_image(image_record rec) {
  if (auto err = check_id("namespace", rec.ns)) return err;
  if (auto err = check_image_name(rec.name)) return err;
  auto what = image_name(rec.ns, rec.name);
  if (!is_digest(rec.target))
    return make_error(errc::invalid_argument,
                      "target of " + what + " \"" + rec.target + "\" is not a sha256 digest");
  if (rec.media_type.empty())
    return make_error(errc::invalid_argument, "media type of " + what + " must be set");
  if (rec.size < 0) return make_error(errc::invalid_argument, "size of " + what + " is negative");
  return guarded("cannot store " + what, [&]() -> caf::expected<image_record> {
    auto labels = labels_to_json(rec.labels, what);
    transaction tx(db_);
    if (count(db_, "SELECT count(*) FROM namespaces WHERE name = ?1", rec.ns) == 0)
      return make_error(errc::not_found,
                        "cannot store " + what + ": " + ns_name(rec.ns) + " not found");
    auto now = caf::make_timestamp();
    auto created = query_one<caf::timestamp>(
        db_,
        "INSERT INTO images (" BERTH_IMAGE_COLUMNS
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
        " ON CONFLICT (namespace, name) DO UPDATE SET target = excluded.target,"
        " media_type = excluded.media_type, size = excluded.size, labels = excluded.labels,"
        " updated_at = excluded.updated_at"
        " RETURNING created_at",
        [](const row& r) { return r.time(0); }, rec.ns, rec.name, rec.target, rec.media_type,
        rec.size, labels, now);
    tx.commit();
    rec.created_at = created.value_or(now);
    rec.updated_at = now;
    return rec;
  });
}

caf::expected<image_record> metadata_store::get_image(const std::string& ns,
                                                      const std::string& name) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_image_name(name)) return err;
  auto what = image_name(ns, name);
  return guarded("cannot read " + what, [&]() -> caf::expected<image_record> {
    if (auto rec = find_image(db_, ns, name)) return std::move(*rec);
    return make_error(errc::not_found, what + " not found");
  });
}

caf::expected<std::vector<image_record>> metadata_store::list_images(const std::string& ns) {
  if (auto err = check_ns_filter(ns)) return err;
  return guarded("cannot list images", [&]() -> caf::expected<std::vector<image_record>> {
    return query<image_record>(db_,
                               "SELECT " BERTH_IMAGE_COLUMNS
                               " FROM images WHERE ?1 = '' OR namespace = ?1"
                               " ORDER BY namespace, name",
                               read_image, ns);
  });
}

caf::expected<image_record> metadata_store::delete_image(const std::string& ns,
                                                         const std::string& name) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_image_name(name)) return err;
  auto what = image_name(ns, name);
  return guarded("cannot delete " + what, [&]() -> caf::expected<image_record> {
    transaction tx(db_);
    auto rec = find_image(db_, ns, name);
    if (!rec) return make_error(errc::not_found, what + " not found");
    exec(db_, "DELETE FROM images WHERE namespace = ?1 AND name = ?2", ns, name);
    tx.commit();
    return std::move(*rec);
  });
}

caf::expected<std::vector<std::string>> metadata_store::image_targets() {
  return guarded("cannot list image targets", [&]() -> caf::expected<std::vector<std::string>> {
    return query<std::string>(db_, "SELECT DISTINCT target FROM images ORDER BY target",
                              [](const row& r) { return r.text(0); });
  });
}

}  // namespace berth
