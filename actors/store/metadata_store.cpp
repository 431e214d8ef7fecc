#include "actors/store/metadata_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "actors/errors.hpp"
#include "actors/store/schema_sql.hpp"  // generated from schema_v<N>.sql
#include "actors/store/sql.hpp"
#include "schema/identifier.hpp"

namespace berth {
namespace {

using namespace sql;

// kMigrations[v] takes a database from user_version v to v + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3};
static_assert(std::size(kMigrations) == metadata_store::schema_version);

std::string container_name(const std::string& ns, const std::string& id) {
  return "container \"" + id + "\" in namespace \"" + ns + "\"";
}
std::string task_name(const std::string& ns, const std::string& id) {
  return "task \"" + id + "\" in namespace \"" + ns + "\"";
}

// --- rows to records ---------------------------------------------------------

namespace_record read_namespace(const row& r) {
  return {r.text(0), labels_from_json(r.text(1)), r.time(2)};
}

// Column lists are macros so they concatenate with the SQL literals around them.
// `spec` names what is read in the spec's place ('' for a brief listing).
#define BERTH_CONTAINER_COLUMNS_WITH(spec)                \
  "namespace, id, image, runtime, runtime_options, " spec \
  ", snapshot_key, "                                      \
  "labels, created_at, updated_at"
#define BERTH_CONTAINER_COLUMNS BERTH_CONTAINER_COLUMNS_WITH("spec")
container_record read_container(const row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3),
          r.text(4), r.text(5), r.text(6), labels_from_json(r.text(7)),
          r.time(8), r.time(9)};
}

#define BERTH_TASK_COLUMNS                                                       \
  "namespace, id, shim_address, shim_pid, pid, status, exit_code, exit_signal, " \
  "exited_at, exit_reason, last_acked_event"
task_record read_task(const row& r) {
  auto status = task_status_from_string(r.text(5));
  if (!status) throw std::runtime_error("unknown task status \"" + r.text(5) + "\" in database");
  return {r.text(0),
          r.text(1),
          r.text(2),
          r.int32(3),
          r.int32(4),
          *status,
          r.int32(6),
          r.int32(7),
          r.time(8),
          r.text(9),
          static_cast<std::uint64_t>(r.integer(10))};
}

std::optional<namespace_record> find_namespace(sqlite3* db, const std::string& name) {
  return query_one<namespace_record>(
      db, "SELECT name, labels, created FROM namespaces WHERE name = ?1", read_namespace, name);
}
std::optional<container_record> find_container(sqlite3* db, const std::string& ns,
                                               const std::string& id) {
  return query_one<container_record>(
      db, "SELECT " BERTH_CONTAINER_COLUMNS " FROM containers WHERE namespace = ?1 AND id = ?2",
      read_container, ns, id);
}
std::optional<task_record> find_task(sqlite3* db, const std::string& ns, const std::string& id) {
  return query_one<task_record>(
      db, "SELECT " BERTH_TASK_COLUMNS " FROM tasks WHERE namespace = ?1 AND id = ?2", read_task,
      ns, id);
}

// --- opening ---------------------------------------------------------------------

void migrate(sqlite3* db) {
  auto read = [](const row& r) { return r.integer(0); };
  auto version = query_one<std::int64_t>(db, "PRAGMA user_version", read).value_or(0);
  if (version > metadata_store::schema_version) {
    throw std::runtime_error("its schema version " + std::to_string(version) +
                             " is newer than this berth understands (" +
                             std::to_string(metadata_store::schema_version) +
                             "); run a newer berthd");
  }
  for (; version < metadata_store::schema_version; ++version) {
    transaction tx(db);
    // A script holds several statements, which only sqlite3_exec runs; the
    // text is ours, not a client's.
    check(db, sqlite3_exec(db, kMigrations[version], nullptr, nullptr, nullptr));
    auto set_version = "PRAGMA user_version = " + std::to_string(version + 1);
    check(db, sqlite3_exec(db, set_version.c_str(), nullptr, nullptr, nullptr));
    tx.commit();
  }
}

}  // namespace

metadata_store::metadata_store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

metadata_store::~metadata_store() {
  sqlite3_close_v2(db_);
}

std::unique_ptr<metadata_store> metadata_store::open(const std::string& root_dir) {
  auto path = (std::filesystem::path{root_dir} / "meta.db").string();
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("cannot open metadata store " + path + ": " + why);
  };
  if (root_dir.empty()) fail("no root directory configured");
  std::error_code ec;
  std::filesystem::create_directories(root_dir, ec);
  if (ec) fail("cannot create directory " + root_dir + ": " + ec.message());
  // Create the file ourselves so it (and SQLite's -wal and -shm, which copy
  // its mode) is private to root: specs may carry secrets in their env.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(std::strerror(errno));
  ::close(fd);

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    fail(why);
  }
  std::unique_ptr<metadata_store> store{new metadata_store(db, path)};
  try {
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    // WAL: readers never block the writer. FULL: a commit is on disk (WAL
    // fsynced) before it returns, so an acknowledged write survives a crash.
    auto mode = query_one<std::string>(db, "PRAGMA journal_mode = WAL",
                                       [](const row& r) { return r.text(0); });
    if (mode.value_or("") != "wal")
      throw std::runtime_error("cannot switch to WAL journal mode (got \"" + mode.value_or("") +
                               "\")");
    exec(db, "PRAGMA synchronous = FULL");
    exec(db, "PRAGMA foreign_keys = ON");
    // SQLite's own page cache (2 MiB by default) would hold every record read,
    // container specs of ~17 KB each included, as private memory of berthd;
    // the kernel's page cache already keeps the file warm, so a small one costs
    // little time and saves about 1.5 MiB with 100 containers (docs/performance.md).
    exec(db, "PRAGMA cache_size = -256");
    migrate(db);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return store;
}

// --- namespaces --------------------------------------------------------------------

caf::expected<namespace_record> metadata_store::put_namespace(namespace_record rec) {
  if (auto err = check_id("namespace", rec.name)) return err;
  return guarded("cannot create " + ns_name(rec.name), [&]() -> caf::expected<namespace_record> {
    auto labels = labels_to_json(rec.labels, ns_name(rec.name));
    transaction tx(db_);
    if (find_namespace(db_, rec.name))
      return make_error(errc::already_exists, ns_name(rec.name) + " already exists");
    rec.created = caf::make_timestamp();
    exec(db_, "INSERT INTO namespaces (name, labels, created) VALUES (?1, ?2, ?3)", rec.name,
         labels, rec.created);
    tx.commit();
    return rec;
  });
}

caf::expected<namespace_record> metadata_store::get_namespace(const std::string& name) {
  if (auto err = check_id("namespace", name)) return err;
  return guarded("cannot read " + ns_name(name), [&]() -> caf::expected<namespace_record> {
    if (auto rec = find_namespace(db_, name)) return std::move(*rec);
    return make_error(errc::not_found, ns_name(name) + " not found");
  });
}

caf::expected<std::vector<namespace_record>> metadata_store::list_namespaces() {
  return guarded("cannot list namespaces", [&]() -> caf::expected<std::vector<namespace_record>> {
    return query<namespace_record>(
        db_, "SELECT name, labels, created FROM namespaces ORDER BY name", read_namespace);
  });
}

caf::expected<namespace_record> metadata_store::delete_namespace(const std::string& name) {
  if (auto err = check_id("namespace", name)) return err;
  return guarded("cannot delete " + ns_name(name), [&]() -> caf::expected<namespace_record> {
    transaction tx(db_);
    auto rec = find_namespace(db_, name);
    if (!rec) return make_error(errc::not_found, ns_name(name) + " not found");
    auto n = count(db_, "SELECT count(*) FROM containers WHERE namespace = ?1", name);
    if (n > 0) {
      return make_error(errc::failed_precondition, "cannot delete " + ns_name(name) +
                                                       ": it still holds " + std::to_string(n) +
                                                       " container(s)");
    }
    auto images = count(db_, "SELECT count(*) FROM images WHERE namespace = ?1", name);
    if (images > 0) {
      return make_error(errc::failed_precondition, "cannot delete " + ns_name(name) +
                                                       ": it still holds " +
                                                       std::to_string(images) + " image(s)");
    }
    exec(db_, "DELETE FROM namespaces WHERE name = ?1", name);
    tx.commit();
    return std::move(*rec);
  });
}

// --- containers --------------------------------------------------------------------

caf::expected<container_record> metadata_store::put_container(container_record rec) {
  if (auto err = check_id("namespace", rec.ns)) return err;
  if (auto err = check_id("container id", rec.id)) return err;
  auto name = container_name(rec.ns, rec.id);
  if (rec.runtime.empty())
    return make_error(errc::invalid_argument, "runtime of " + name + " must be set");
  return guarded("cannot store " + name, [&]() -> caf::expected<container_record> {
    check_json(rec.runtime_options, "runtime options", name);
    check_json(rec.spec, "spec", name);
    auto labels = labels_to_json(rec.labels, name);
    transaction tx(db_);
    if (!find_namespace(db_, rec.ns))
      return make_error(errc::not_found,
                        "cannot store " + name + ": " + ns_name(rec.ns) + " not found");
    auto now = caf::make_timestamp();
    // On update the row keeps its created_at; RETURNING reports which it is.
    auto created = query_one<caf::timestamp>(
        db_,
        "INSERT INTO containers (" BERTH_CONTAINER_COLUMNS
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT (namespace, id) DO UPDATE SET image = excluded.image,"
        " runtime = excluded.runtime, runtime_options = excluded.runtime_options,"
        " spec = excluded.spec, snapshot_key = excluded.snapshot_key, labels = excluded.labels,"
        " updated_at = excluded.updated_at"
        " RETURNING created_at",
        [](const row& r) { return r.time(0); }, rec.ns, rec.id, rec.image, rec.runtime,
        rec.runtime_options, rec.spec, rec.snapshot_key, labels, now);
    tx.commit();
    rec.created_at = created.value_or(now);
    rec.updated_at = now;
    return rec;
  });
}

caf::expected<container_record> metadata_store::get_container(const std::string& ns,
                                                              const std::string& id) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("container id", id)) return err;
  auto name = container_name(ns, id);
  return guarded("cannot read " + name, [&]() -> caf::expected<container_record> {
    if (auto rec = find_container(db_, ns, id)) return std::move(*rec);
    return make_error(errc::not_found, name + " not found");
  });
}

caf::expected<std::vector<container_record>> metadata_store::list_containers(const std::string& ns,
                                                                             bool with_spec) {
  if (auto err = check_ns_filter(ns)) return err;
  return guarded("cannot list containers", [&]() -> caf::expected<std::vector<container_record>> {
#define BERTH_CONTAINERS_IN_NS \
  " FROM containers WHERE ?1 = '' OR namespace = ?1 ORDER BY namespace, id"
    const char* sql = with_spec ? "SELECT " BERTH_CONTAINER_COLUMNS BERTH_CONTAINERS_IN_NS
                                : "SELECT " BERTH_CONTAINER_COLUMNS_WITH("''")
                                      BERTH_CONTAINERS_IN_NS;
#undef BERTH_CONTAINERS_IN_NS
    return query<container_record>(db_, sql, read_container, ns);
  });
}

caf::expected<container_record> metadata_store::delete_container(const std::string& ns,
                                                                 const std::string& id) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("container id", id)) return err;
  auto name = container_name(ns, id);
  return guarded("cannot delete " + name, [&]() -> caf::expected<container_record> {
    transaction tx(db_);
    auto rec = find_container(db_, ns, id);
    if (!rec) return make_error(errc::not_found, name + " not found");
    if (count(db_, "SELECT count(*) FROM tasks WHERE namespace = ?1 AND id = ?2", ns, id) > 0) {
      return make_error(errc::failed_precondition,
                        "cannot delete " + name + ": it still has a task; delete the task first");
    }
    exec(db_, "DELETE FROM containers WHERE namespace = ?1 AND id = ?2", ns, id);
    tx.commit();
    return std::move(*rec);
  });
}

// --- tasks ---------------------------------------------------------------------------

caf::expected<task_record> metadata_store::put_task(task_record rec) {
  if (auto err = check_id("namespace", rec.ns)) return err;
  if (auto err = check_id("task id", rec.id)) return err;
  auto name = task_name(rec.ns, rec.id);
  if (rec.status == task_status::unknown)
    return make_error(errc::invalid_argument, "status of " + name + " must be set");
  if (rec.last_acked_event > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return make_error(errc::invalid_argument, "last acked event of " + name + " is out of range");
  return guarded("cannot store " + name, [&]() -> caf::expected<task_record> {
    transaction tx(db_);
    if (!find_container(db_, rec.ns, rec.id)) {
      return make_error(errc::not_found, "cannot store " + name + ": " +
                                             container_name(rec.ns, rec.id) + " not found");
    }
    // last_acked_event never goes down, whoever writes the row.
    auto acked = query_one<std::int64_t>(
        db_,
        "INSERT INTO tasks (" BERTH_TASK_COLUMNS
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        " ON CONFLICT (namespace, id) DO UPDATE SET shim_address = excluded.shim_address,"
        " shim_pid = excluded.shim_pid, pid = excluded.pid, status = excluded.status,"
        " exit_code = excluded.exit_code, exit_signal = excluded.exit_signal,"
        " exited_at = excluded.exited_at, exit_reason = excluded.exit_reason,"
        " last_acked_event = max(last_acked_event, excluded.last_acked_event)"
        " RETURNING last_acked_event",
        [](const row& r) { return r.integer(0); }, rec.ns, rec.id, rec.shim_address, rec.shim_pid,
        rec.pid, to_string(rec.status), rec.exit_code, rec.exit_signal, rec.exited_at,
        rec.exit_reason, static_cast<std::int64_t>(rec.last_acked_event));
    tx.commit();
    if (acked) rec.last_acked_event = static_cast<std::uint64_t>(*acked);
    return rec;
  });
}

caf::expected<task_record> metadata_store::get_task(const std::string& ns, const std::string& id) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("task id", id)) return err;
  auto name = task_name(ns, id);
  return guarded("cannot read " + name, [&]() -> caf::expected<task_record> {
    if (auto rec = find_task(db_, ns, id)) return std::move(*rec);
    return make_error(errc::not_found, name + " not found");
  });
}

caf::expected<std::vector<task_record>> metadata_store::list_tasks(const std::string& ns) {
  if (auto err = check_ns_filter(ns)) return err;
  return guarded("cannot list tasks", [&]() -> caf::expected<std::vector<task_record>> {
    return query<task_record>(db_,
                              "SELECT " BERTH_TASK_COLUMNS
                              " FROM tasks WHERE ?1 = '' OR namespace = ?1"
                              " ORDER BY namespace, id",
                              read_task, ns);
  });
}

caf::expected<task_record> metadata_store::delete_task(const std::string& ns,
                                                       const std::string& id) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("task id", id)) return err;
  auto name = task_name(ns, id);
  return guarded("cannot delete " + name, [&]() -> caf::expected<task_record> {
    transaction tx(db_);
    auto rec = find_task(db_, ns, id);
    if (!rec) return make_error(errc::not_found, name + " not found");
    exec(db_, "DELETE FROM tasks WHERE namespace = ?1 AND id = ?2", ns, id);
    tx.commit();
    return std::move(*rec);
  });
}

caf::expected<task_record> metadata_store::set_task_exit(const std::string& ns,
                                                         const std::string& id,
                                                         const task_exit& exit) {
  std::vector<event_record> batch;
  return set_task_exit(ns, id, exit, batch);
}

caf::expected<task_record> metadata_store::set_task_exit(const std::string& ns,
                                                         const std::string& id,
                                                         const task_exit& exit,
                                                         std::vector<event_record>& batch) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("task id", id)) return err;
  auto name = task_name(ns, id);
  return guarded("cannot record the exit of " + name, [&]() -> caf::expected<task_record> {
    transaction tx(db_);
    auto rec = query_one<task_record>(
        db_,
        "UPDATE tasks SET status = ?3, exit_code = ?4, exit_signal = ?5, exited_at = ?6,"
        " exit_reason = ?7 WHERE namespace = ?1 AND id = ?2 RETURNING " BERTH_TASK_COLUMNS,
        read_task, ns, id, to_string(task_status::stopped), exit.exit_code, exit.exit_signal,
        exit.exited_at, exit.exit_reason);
    if (!rec) return make_error(errc::not_found, name + " not found");
    // The exit event, as the task actor used to publish it: at the time of
    // the exit, with the init process's pid.
    event_record ev;
    ev.time = exit.exited_at == caf::timestamp{} ? caf::make_timestamp() : exit.exited_at;
    ev.ns = ns;
    ev.id = id;
    ev.topic = "/tasks/exit";
    ev.details.pid = static_cast<std::uint32_t>(rec->pid);
    ev.details.exit_code = exit.exit_code;
    ev.details.exit_signal = exit.exit_signal;
    ev.details.exited_at = exit.exited_at;
    ev.details.exit_reason = exit.exit_reason;
    batch.push_back(std::move(ev));
    try {
      append_in_transaction(batch);
    } catch (...) {
      batch.pop_back();
      throw;
    }
    tx.commit();
    return std::move(*rec);
  });
}

caf::expected<std::uint64_t> metadata_store::set_last_acked_event(const std::string& ns,
                                                                  const std::string& id,
                                                                  std::uint64_t seq) {
  if (auto err = check_id("namespace", ns)) return err;
  if (auto err = check_id("task id", id)) return err;
  auto name = task_name(ns, id);
  if (seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return make_error(errc::invalid_argument,
                      "event sequence " + std::to_string(seq) + " of " + name + " is out of range");
  return guarded("cannot acknowledge an event of " + name, [&]() -> caf::expected<std::uint64_t> {
    transaction tx(db_);
    auto acked = query_one<std::int64_t>(
        db_,
        "UPDATE tasks SET last_acked_event = max(last_acked_event, ?3)"
        " WHERE namespace = ?1 AND id = ?2 RETURNING last_acked_event",
        [](const row& r) { return r.integer(0); }, ns, id, static_cast<std::int64_t>(seq));
    if (!acked) return make_error(errc::not_found, name + " not found");
    tx.commit();
    return static_cast<std::uint64_t>(*acked);
  });
}

}  // namespace berth
