// The SQLite plumbing shared by metadata_store's files: statements with
// bound parameters, rows, transactions, and guarded() turning failures into
// berth errors. Internal to actors/store.
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/errors.hpp"
#include "actors/store/records.hpp"
#include "schema/identifier.hpp"

namespace berth::sql {

// Thrown inside a method; guarded() turns them into caf::errors.
struct sqlite_failure : std::runtime_error {
  sqlite_failure(sqlite3* db, int rc)
      : std::runtime_error(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)), code(rc) {}
  int code;
};
struct bad_request : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(sqlite3* db, int rc) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) throw sqlite_failure(db, rc);
}

inline std::int64_t to_ns(caf::timestamp t) {
  return t.time_since_epoch().count();
}
inline caf::timestamp from_ns(std::int64_t ns) {
  return caf::timestamp{caf::timestamp::duration{ns}};
}

// One row of a result, read by column index.
class row {
 public:
  explicit row(sqlite3_stmt* stmt) : stmt_(stmt) {}
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::int32_t int32(int col) const { return static_cast<std::int32_t>(integer(col)); }
  caf::timestamp time(int col) const { return from_ns(integer(col)); }

 private:
  sqlite3_stmt* stmt_;
};

// A prepared statement with its parameters bound in order (?1, ?2, ...);
// values are only ever bound, never spliced into SQL text.
class statement {
 public:
  template <class... Ts>
  statement(sqlite3* db, const char* sql, const Ts&... args) : db_(db) {
    check(db_, sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr));
    int i = 0;
    (bind(++i, args), ...);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Runs to completion, calling on_row for each result row.
  template <class F>
  void run(F&& on_row) {
    for (;;) {
      int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) throw sqlite_failure(db_, rc);
      on_row(row{stmt_});
    }
  }
  void run() {
    run([](const row&) {});
  }

 private:
  void bind(int i, const std::string& x) {
    check(db_, sqlite3_bind_text(stmt_, i, x.data(), static_cast<int>(x.size()), SQLITE_TRANSIENT));
  }
  void bind(int i, const char* x) { bind(i, std::string{x}); }
  void bind(int i, std::int64_t x) { check(db_, sqlite3_bind_int64(stmt_, i, x)); }
  void bind(int i, std::int32_t x) { bind(i, static_cast<std::int64_t>(x)); }
  void bind(int i, caf::timestamp x) { bind(i, to_ns(x)); }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

template <class T, class Read, class... Ts>
std::vector<T> query(sqlite3* db, const char* sql, Read read, const Ts&... args) {
  std::vector<T> out;
  statement(db, sql, args...).run([&](const row& r) { out.push_back(read(r)); });
  return out;
}

template <class T, class Read, class... Ts>
std::optional<T> query_one(sqlite3* db, const char* sql, Read read, const Ts&... args) {
  auto rows = query<T>(db, sql, read, args...);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

template <class... Ts>
void exec(sqlite3* db, const char* sql, const Ts&... args) {
  statement(db, sql, args...).run();
}

// How a commit reaches the disk. synced: COMMIT returns once the WAL is
// fsynced (the connection's synchronous=FULL). deferred: written to the WAL
// without an fsync (synchronous=NORMAL for this transaction only), so it
// survives a kill of berthd but not a power loss, until the next synced
// commit makes it durable with everything before it. For writes whose loss
// on a power cut berth can afford: the events other than exits.
enum class durability { synced, deferred };

// BEGIN IMMEDIATE takes the write lock up front, so the reads that decide a
// write cannot be invalidated by another connection before it.
class transaction {
 public:
  explicit transaction(sqlite3* db, durability d = durability::synced)
      : db_(db), deferred_(d == durability::deferred) {
    if (deferred_) exec(db_, "PRAGMA synchronous = NORMAL");
    try {
      exec(db_, "BEGIN IMMEDIATE");
    } catch (...) {
      restore();
      throw;
    }
  }
  ~transaction() {
    if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    restore();
  }
  void commit() {
    exec(db_, "COMMIT");
    committed_ = true;
  }

 private:
  void restore() {
    if (deferred_) sqlite3_exec(db_, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr);
  }

  sqlite3* db_;
  bool deferred_;
  bool committed_ = false;
};

// Runs a method body; failures become errors that say what was attempted.
template <class F>
auto guarded(const std::string& what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const bad_request& e) {
    return make_error(errc::invalid_argument, e.what());
  } catch (const sqlite_failure& e) {
    // Another process holding the write lock past busy_timeout.
    auto code = (e.code & 0xff) == SQLITE_BUSY ? errc::unavailable : errc::internal;
    return make_error(code, what + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(errc::internal, what + ": " + e.what());
  }
}

inline std::string ns_name(const std::string& name) {
  return "namespace \"" + name + "\"";
}

inline caf::error check_id(std::string_view what, const std::string& value) {
  if (auto msg = check_identifier(what, value)) return make_error(errc::invalid_argument, *msg);
  return caf::none;
}

// An empty namespace in a list request means "every namespace".
inline caf::error check_ns_filter(const std::string& ns) {
  return ns.empty() ? caf::error{} : check_id("namespace", ns);
}

inline std::string labels_to_json(const label_map& labels, const std::string& owner) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) throw bad_request("labels of " + owner + ": a label key must not be empty");
    if (key.size() + value.size() > 4096)
      throw bad_request("labels of " + owner + ": label \"" + key.substr(0, 64) +
                        "\" is longer than 4096 bytes");
  }
  try {
    return nlohmann::json(labels).dump();
  } catch (const nlohmann::json::exception&) {
    throw bad_request("labels of " + owner + " are not valid UTF-8");
  }
}

inline label_map labels_from_json(const std::string& text) {
  return nlohmann::json::parse(text).get<label_map>();
}

inline void check_json(const std::string& doc, const char* field, const std::string& owner) {
  if (!doc.empty() && !nlohmann::json::accept(doc))
    throw bad_request(std::string{field} + " of " + owner + " is not valid JSON");
}

template <class... Ts>
std::int64_t count(sqlite3* db, const char* sql, const Ts&... args) {
  auto n = query_one<std::int64_t>(
      db, sql, [](const row& r) { return r.integer(0); }, args...);
  return n.value_or(0);
}

}  // namespace berth::sql
