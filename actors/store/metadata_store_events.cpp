// The event log of metadata_store: append, read a range, prune.
#include <limits>
#include <nlohmann/json.hpp>

#include "actors/store/metadata_store.hpp"
#include "actors/store/sql.hpp"

namespace berth {
namespace {

using namespace sql;
using nlohmann::json;

// The payload column: only the fields an event has, so a row stays small.
std::string payload_of(const event_details& d) {
  json j = json::object();
  auto text = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  text("exec_id", d.exec_id);
  if (d.pid) j["pid"] = d.pid;
  text("bundle", d.bundle);
  if (d.exit_code) j["exit_code"] = d.exit_code;
  if (d.exit_signal) j["exit_signal"] = d.exit_signal;
  if (d.exited_at != caf::timestamp{}) j["exited_at"] = to_ns(d.exited_at);
  text("exit_reason", d.exit_reason);
  text("image", d.image);
  text("runtime", d.runtime);
  text("name", d.name);
  // A byte that is not UTF-8 (a shim's reason text, say) must not cost the event.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

event_details details_of(const std::string& payload) {
  auto j = json::parse(payload);
  event_details d;
  d.exec_id = j.value("exec_id", "");
  d.pid = j.value("pid", std::uint32_t{0});
  d.bundle = j.value("bundle", "");
  d.exit_code = j.value("exit_code", std::int32_t{0});
  d.exit_signal = j.value("exit_signal", std::int32_t{0});
  d.exited_at = from_ns(j.value("exited_at", std::int64_t{0}));
  d.exit_reason = j.value("exit_reason", "");
  d.image = j.value("image", "");
  d.runtime = j.value("runtime", "");
  d.name = j.value("name", "");
  return d;
}

event_record read_event(const row& r) {
  event_record e;
  e.seq = static_cast<std::uint64_t>(r.integer(0));
  e.time = r.time(1);
  e.ns = r.text(2);
  e.id = r.text(3);
  e.topic = r.text(4);
  e.details = details_of(r.text(5));
  return e;
}

std::uint64_t newest_numbered(sqlite3* db) {
  // AUTOINCREMENT's high-water mark: still there when every row is pruned.
  return static_cast<std::uint64_t>(
      count(db, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'events'"));
}

std::uint64_t oldest_kept(sqlite3* db, std::uint64_t last) {
  auto first = count(db, "SELECT coalesce(min(seq), 0) FROM events");
  return first ? static_cast<std::uint64_t>(first) : last + 1;
}

}  // namespace

void metadata_store::append_in_transaction(std::vector<event_record>& batch) {
  if (batch.empty()) return;
  for (auto& e : batch) {
    auto seq = query_one<std::int64_t>(
        db_,
        "INSERT INTO events (time, namespace, id, topic, payload) VALUES (?1, ?2, ?3, ?4, ?5)"
        " RETURNING seq",
        [](const row& r) { return r.integer(0); }, e.time, e.ns, e.id, e.topic,
        payload_of(e.details));
    e.seq = static_cast<std::uint64_t>(seq.value_or(0));
  }
  // Keep the newest event_retention_: one indexed range delete on the rowid.
  auto last = batch.back().seq;
  if (last > event_retention_)
    exec(db_, "DELETE FROM events WHERE seq <= ?1",
         static_cast<std::int64_t>(last - event_retention_));
}

caf::error metadata_store::append_events(std::vector<event_record>& batch) {
  if (batch.empty()) return caf::none;
  auto r = guarded("cannot append to the event log", [&]() -> caf::expected<bool> {
    // An exit's event is appended with the exit (set_task_exit), synced.
    transaction tx(db_, durability::deferred);
    append_in_transaction(batch);
    tx.commit();
    return true;
  });
  return r ? caf::error{} : std::move(r.error());
}

caf::expected<std::vector<event_record>> metadata_store::events_after(std::uint64_t after,
                                                                      std::size_t limit) {
  return guarded("cannot read the event log", [&]() -> caf::expected<std::vector<event_record>> {
    // One read transaction, so the bounds and the rows agree.
    exec(db_, "BEGIN");
    struct end_read {
      sqlite3* db;
      ~end_read() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
    } end{db_};
    auto last = newest_numbered(db_);
    if (after > last)
      return make_error(errc::invalid_argument,
                        "cannot replay events after " + std::to_string(after) +
                            ": the newest event is " + std::to_string(last));
    auto first = oldest_kept(db_, last);
    if (after + 1 < first) {
      return make_error(errc::failed_precondition,
                        "cannot replay events after " + std::to_string(after) + ": events up to " +
                            std::to_string(first - 1) + " were pruned (berthd keeps the newest " +
                            std::to_string(event_retention_) + "); resubscribe with --since " +
                            std::to_string(first - 1) + " to start at the oldest kept event");
    }
    auto n = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int32_t>::max()));
    return query<event_record>(
        db_,
        "SELECT seq, time, namespace, id, topic, payload FROM events WHERE seq > ?1"
        " ORDER BY seq LIMIT ?2",
        read_event,
        static_cast<std::int64_t>(std::min<std::uint64_t>(
            after, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))),
        n);
  });
}

caf::expected<metadata_store::event_span> metadata_store::event_bounds() {
  return guarded("cannot read the event log", [&]() -> caf::expected<event_span> {
    event_span s;
    s.last = newest_numbered(db_);
    s.first = oldest_kept(db_, s.last);
    return s;
  });
}

}  // namespace berth
