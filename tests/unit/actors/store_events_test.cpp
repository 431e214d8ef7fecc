// The event log of the metadata store: append numbers events gap-free, a
// range reads them back in order, pruning keeps the newest and refuses a
// `since` older than them, an exit and its event share one transaction, and
// a version 2 database migrates to the log with its rows kept. Appends are
// deferred transactions (sql.hpp): committed without the WAL's fsync.
#include <sqlite3.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/store/metadata_store.hpp"
#include "actors/store/schema_sql.hpp"
#include "actors/store/sql.hpp"

using namespace berth;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "berth-events-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string root() const { return (path / "root").string(); }
};

event_record container_event(const std::string& id, const std::string& topic) {
  event_record e;
  e.time = caf::make_timestamp();
  e.ns = "default";
  e.id = id;
  e.topic = topic;
  e.details.image = "docker.io/library/busybox:latest";
  e.details.runtime = "io.berth.runc.v1";
  return e;
}

std::vector<event_record> batch_of(int n, const std::string& stem) {
  std::vector<event_record> b;
  for (int i = 0; i < n; ++i)
    b.push_back(container_event(stem + std::to_string(i), "/containers/create"));
  return b;
}

std::vector<std::uint64_t> seqs(const std::vector<event_record>& evs) {
  std::vector<std::uint64_t> out;
  for (auto& e : evs) out.push_back(e.seq);
  return out;
}

void seed_task(metadata_store& db) {
  REQUIRE(db.put_namespace({"default", {}, {}}));
  container_record c;
  c.ns = "default";
  c.id = "web";
  c.runtime = "io.berth.runc.v1";
  REQUIRE(db.put_container(c));
  task_record t;
  t.ns = "default";
  t.id = "web";
  t.pid = 4243;
  t.status = task_status::running;
  REQUIRE(db.put_task(t));
}

}  // namespace

TEST_CASE("appended events are numbered 1, 2, 3... and read back in order", "[store][events]") {
  temp_dir dir;
  auto db = metadata_store::open(dir.root());
  auto span = db->event_bounds();
  REQUIRE(span);
  CHECK(span->last == 0);

  auto first = batch_of(3, "a");
  REQUIRE_FALSE(db->append_events(first));
  CHECK(seqs(first) == std::vector<std::uint64_t>{1, 2, 3});
  auto second = batch_of(2, "b");
  REQUIRE_FALSE(db->append_events(second));
  CHECK(seqs(second) == std::vector<std::uint64_t>{4, 5});

  auto all = db->events_after(0, 100);
  REQUIRE(all);
  REQUIRE(seqs(*all) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK((*all)[3].id == "b0");
  CHECK((*all)[3].topic == "/containers/create");
  CHECK((*all)[3].details == second[0].details);
  CHECK((*all)[3].time == second[0].time);

  auto page = db->events_after(2, 2);
  REQUIRE(page);
  CHECK(seqs(*page) == std::vector<std::uint64_t>{3, 4});
  auto none = db->events_after(5, 10);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("the numbering continues after a reopen", "[store][events]") {
  temp_dir dir;
  {
    auto db = metadata_store::open(dir.root());
    auto b = batch_of(4, "x");
    REQUIRE_FALSE(db->append_events(b));
  }
  auto db = metadata_store::open(dir.root());
  auto b = batch_of(1, "y");
  REQUIRE_FALSE(db->append_events(b));
  CHECK(b[0].seq == 5);
  auto span = db->event_bounds();
  REQUIRE(span);
  CHECK(span->first == 1);
  CHECK(span->last == 5);
}

TEST_CASE("a since past the newest event is refused", "[store][events]") {
  temp_dir dir;
  auto db = metadata_store::open(dir.root());
  auto b = batch_of(2, "x");
  REQUIRE_FALSE(db->append_events(b));
  auto r = db->events_after(7, 10);
  REQUIRE_FALSE(r);
  CHECK(error_code(r.error()) == errc::invalid_argument);
  CHECK(error_message(r.error()) == "cannot replay events after 7: the newest event is 2");
}

TEST_CASE("pruning keeps the newest events and refuses a since older than them",
          "[store][events]") {
  temp_dir dir;
  auto db = metadata_store::open(dir.root());
  db->set_event_retention(5);
  for (int i = 0; i < 4; ++i) {
    auto b = batch_of(3, "p" + std::to_string(i));
    REQUIRE_FALSE(db->append_events(b));
  }
  auto span = db->event_bounds();
  REQUIRE(span);
  CHECK(span->first == 8);
  CHECK(span->last == 12);

  auto kept = db->events_after(7, 100);
  REQUIRE(kept);
  CHECK(seqs(*kept) == std::vector<std::uint64_t>{8, 9, 10, 11, 12});

  auto pruned = db->events_after(3, 100);
  REQUIRE_FALSE(pruned);
  CHECK(error_code(pruned.error()) == errc::failed_precondition);
  CHECK(error_message(pruned.error()) ==
        "cannot replay events after 3: events up to 7 were pruned (berthd keeps the newest 5); "
        "resubscribe with --since 7 to start at the oldest kept event");

  // Numbers are never handed out again, whatever was pruned.
  auto next = batch_of(1, "q");
  REQUIRE_FALSE(db->append_events(next));
  CHECK(next[0].seq == 13);
}

TEST_CASE("an exit and its event are one transaction, after the events before it",
          "[store][events]") {
  temp_dir dir;
  auto db = metadata_store::open(dir.root());
  seed_task(*db);
  std::vector<event_record> batch{container_event("web", "/tasks/start")};
  task_exit exit{137, 9, caf::make_timestamp(), "killed"};
  auto rec = db->set_task_exit("default", "web", exit, batch);
  REQUIRE(rec);
  CHECK(rec->status == task_status::stopped);
  REQUIRE(batch.size() == 2);
  CHECK(seqs(batch) == std::vector<std::uint64_t>{1, 2});
  auto& ev = batch[1];
  CHECK(ev.topic == "/tasks/exit");
  CHECK(ev.ns == "default");
  CHECK(ev.id == "web");
  CHECK(ev.details.pid == 4243);
  CHECK(ev.details.exit_code == 137);
  CHECK(ev.details.exit_signal == 9);
  CHECK(ev.details.exit_reason == "killed");
  CHECK(ev.time == exit.exited_at);

  auto stored = db->events_after(0, 10);
  REQUIRE(stored);
  CHECK(*stored == batch);

  // A failed exit (no such task) appends nothing: the log has no exit the
  // task table does not have.
  std::vector<event_record> none;
  auto missing = db->set_task_exit("default", "nope", exit, none);
  REQUIRE_FALSE(missing);
  CHECK(error_code(missing.error()) == errc::not_found);
  auto after = db->event_bounds();
  REQUIRE(after);
  CHECK(after->last == 2);
}

TEST_CASE("a version 2 database migrates to the event log and keeps its rows", "[store][events]") {
  temp_dir dir;
  fs::create_directories(dir.root());
  auto path = dir.root() + "/meta.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, kSchemaV2, nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "PRAGMA user_version = 2; INSERT INTO namespaces VALUES "
                         "('old', '{}', 1)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto db = metadata_store::open(dir.root());
  CHECK(db->get_namespace("old"));
  auto b = batch_of(1, "m");
  REQUIRE_FALSE(db->append_events(b));
  CHECK(b[0].seq == 1);
  auto span = db->event_bounds();
  REQUIRE(span);
  CHECK(span->last == 1);
}

TEST_CASE("a deferred transaction commits without the WAL's fsync and puts FULL back",
          "[unit][store]") {
  using namespace berth::sql;
  temp_dir dir;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir.path / "t.db").c_str(), &db) == SQLITE_OK);
  auto synchronous = [db] {
    return query_one<std::int64_t>(db, "PRAGMA synchronous",
                                   [](const row& r) { return r.integer(0); })
        .value_or(-1);
  };
  exec(db, "PRAGMA journal_mode = WAL");
  exec(db, "PRAGMA synchronous = FULL");
  exec(db, "CREATE TABLE t (x INTEGER)");
  {
    transaction tx(db, durability::deferred);
    CHECK(synchronous() == 1);  // NORMAL: no fsync at this commit
    exec(db, "INSERT INTO t VALUES (1)");
    tx.commit();
  }
  CHECK(synchronous() == 2);  // FULL again for the next writer
  {
    transaction tx(db, durability::synced);
    CHECK(synchronous() == 2);
    exec(db, "INSERT INTO t VALUES (2)");
  }  // rolled back
  CHECK(synchronous() == 2);
  // BEGIN fails inside an open transaction: the setting is still put back.
  exec(db, "BEGIN");
  CHECK_THROWS(transaction(db, durability::deferred));
  exec(db, "COMMIT");
  CHECK(synchronous() == 2);
  CHECK(query_one<std::int64_t>(db, "SELECT count(*) FROM t", [](const row& r) {
          return r.integer(0);
        }).value_or(-1) == 1);
  sqlite3_close(db);
}
