// The store's image records (schema_v2.sql) against a real SQLite file:
// round trips, errors naming the image, the v1 -> v2 migration, and CAF
// serialization of image_record.
#include <sqlite3.h>
#include <stdlib.h>
#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "actors/errors.hpp"
#include "actors/store/schema_sql.hpp"
#include "actors/store/store_actor.hpp"

using namespace berth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "berth-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string root() const { return (path / "root").string(); }
};

struct store_config : caf::actor_system_config {
  store_config() { add_store_types(*this); }
};

// A fresh actor system with a store on `root`, and a blocking actor to ask it.
struct client {
  store_config cfg;
  caf::actor_system sys{cfg};
  store_actor store;
  caf::scoped_actor self{sys};

  explicit client(const std::string& root) : store(spawn_store(sys, root)) {}
  ~client() { self->send_exit(store, caf::exit_reason::user_shutdown); }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    std::optional<caf::expected<T>> out;
    self->request(store, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& x) { out.emplace(std::move(x)); },
                 [&](caf::error& err) { out.emplace(std::move(err)); });
    return std::move(*out);
  }
};

std::string pragma(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace

namespace {

image_record sample_image(std::string ns, std::string name) {
  image_record i;
  i.ns = std::move(ns);
  i.name = std::move(name);
  i.target = "sha256:" + std::string(64, 'a');
  i.media_type = "application/vnd.oci.image.manifest.v1+json";
  i.size = 2 << 20;
  i.labels = {{"org.opencontainers.image.source", "archive"}};
  return i;
}

}  // namespace

TEST_CASE("images round trip; a put moves a name and keeps created_at", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}}));
  auto put = c.ask<image_record>(put_img_atom::value,
                                 sample_image("default", "docker.io/library/busybox:latest"));
  REQUIRE(put);
  CHECK(put->created_at == put->updated_at);
  auto got = c.ask<image_record>(get_img_atom::value, std::string{"default"},
                                 std::string{"docker.io/library/busybox:latest"});
  REQUIRE(got);
  CHECK(*got == *put);

  auto moved = sample_image("default", "docker.io/library/busybox:latest");
  moved.target = "sha256:" + std::string(64, 'b');
  auto again = c.ask<image_record>(put_img_atom::value, moved);
  REQUIRE(again);
  CHECK(again->created_at == put->created_at);
  CHECK(again->target == moved.target);

  // A second name for the same content (a tag).
  REQUIRE(c.ask<image_record>(put_img_atom::value,
                              sample_image("default", "docker.io/library/busybox:1")));
  auto all = c.ask<std::vector<image_record>>(list_img_atom::value, std::string{});
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "docker.io/library/busybox:1");
  auto targets = c.ask<std::vector<std::string>>(img_targets_atom::value);
  REQUIRE(targets);
  CHECK(*targets == std::vector<std::string>{"sha256:" + std::string(64, 'a'),
                                             "sha256:" + std::string(64, 'b')});

  // A namespace holding images cannot go.
  auto ns_del = c.ask<namespace_record>(del_ns_atom::value, std::string{"default"});
  REQUIRE_FALSE(ns_del);
  CHECK(error_code(ns_del.error()) == errc::failed_precondition);
  CHECK(error_message(ns_del.error()) ==
        "cannot delete namespace \"default\": it still holds 2 image(s)");

  auto del = c.ask<image_record>(del_img_atom::value, std::string{"default"},
                                 std::string{"docker.io/library/busybox:1"});
  REQUIRE(del);
  CHECK(del->name == "docker.io/library/busybox:1");
  targets = c.ask<std::vector<std::string>>(img_targets_atom::value);
  REQUIRE(targets);
  CHECK(*targets == std::vector<std::string>{"sha256:" + std::string(64, 'b')});
}

TEST_CASE("image errors carry a berth code and name the image", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  auto no_ns = c.ask<image_record>(put_img_atom::value, sample_image("nowhere", "x.io/a:b"));
  REQUIRE_FALSE(no_ns);
  CHECK(error_code(no_ns.error()) == errc::not_found);
  CHECK(error_message(no_ns.error()) ==
        "cannot store image \"x.io/a:b\" in namespace \"nowhere\": namespace \"nowhere\" not "
        "found");
  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}}));
  auto missing =
      c.ask<image_record>(get_img_atom::value, std::string{"default"}, std::string{"x.io/a:b"});
  REQUIRE_FALSE(missing);
  CHECK(error_code(missing.error()) == errc::not_found);
  CHECK(error_message(missing.error()) == "image \"x.io/a:b\" in namespace \"default\" not found");
  auto bad = sample_image("default", "x.io/a:b");
  bad.target = "sha256:../../etc";
  auto bad_target = c.ask<image_record>(put_img_atom::value, bad);
  REQUIRE_FALSE(bad_target);
  CHECK(error_code(bad_target.error()) == errc::invalid_argument);
  CHECK(error_message(bad_target.error()) ==
        "target of image \"x.io/a:b\" in namespace \"default\" \"sha256:../../etc\" is not a "
        "sha256 digest");
  auto bad_name = c.ask<image_record>(put_img_atom::value, sample_image("default", "a b"));
  REQUIRE_FALSE(bad_name);
  CHECK(error_code(bad_name.error()) == errc::invalid_argument);
  CHECK(error_message(bad_name.error()) ==
        "image name \"a b\" contains a space or control character");
}

TEST_CASE("a version 1 database migrates to the current version and keeps its rows", "[store]") {
  temp_dir dir;
  fs::create_directories(dir.root());
  auto path = dir.root() + "/meta.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "PRAGMA user_version = 1; INSERT INTO namespaces VALUES "
                         "('old', '{}', 1)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    client c{dir.root()};
    REQUIRE(c.ask<namespace_record>(get_ns_atom::value, std::string{"old"}));
    REQUIRE(c.ask<image_record>(put_img_atom::value, sample_image("old", "x.io/a:b")));
  }
  CHECK(pragma(path, "PRAGMA user_version") == "3");
}

TEST_CASE("image records survive CAF serialization", "[store]") {
  store_config cfg;
  caf::actor_system sys{cfg};
  auto img = sample_image("default", "docker.io/library/busybox:latest");
  img.created_at = caf::make_timestamp();
  auto msg = caf::make_message(img, std::vector<image_record>{img});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(msg));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(copy));
  REQUIRE(copy.match_elements<image_record, std::vector<image_record>>());
  CHECK(copy.get_as<image_record>(0) == img);
  CHECK(copy.get_as<std::vector<image_record>>(1).front() == img);
}
