// The SQL behind the store actor: one SQLite connection to <root>/meta.db and
// one method per store message. Synchronous and single-threaded; only the
// store actor owns one. Each write is one committed transaction before the
// method returns, so whatever the actor acknowledges survives a kill -9.
#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/store/records.hpp"

struct sqlite3;

namespace berth {

class metadata_store {
 public:
  // Newest schema this build knows (PRAGMA user_version of a migrated db).
  static constexpr int schema_version = 3;

  // Opens or creates <root_dir>/meta.db (and root_dir itself), turns on WAL,
  // synchronous=FULL and foreign keys, and migrates the schema. Throws
  // std::runtime_error("cannot open metadata store <path>: <why>").
  static std::unique_ptr<metadata_store> open(const std::string& root_dir);

  ~metadata_store();
  metadata_store(const metadata_store&) = delete;
  metadata_store& operator=(const metadata_store&) = delete;

  const std::string& path() const { return path_; }

  // Namespaces. put creates: already_exists when the name is taken.
  caf::expected<namespace_record> put_namespace(namespace_record rec);
  caf::expected<namespace_record> get_namespace(const std::string& name);
  caf::expected<std::vector<namespace_record>> list_namespaces();
  // failed_precondition while the namespace still holds containers.
  caf::expected<namespace_record> delete_namespace(const std::string& name);

  // Containers. put inserts or updates (the namespace must exist); an empty
  // ns for list means every namespace.
  caf::expected<container_record> put_container(container_record rec);
  caf::expected<container_record> get_container(const std::string& ns, const std::string& id);
  // Without `with_spec`, each record's spec is left empty.
  caf::expected<std::vector<container_record>> list_containers(const std::string& ns,
                                                               bool with_spec = true);
  // failed_precondition while the container still has a task.
  caf::expected<container_record> delete_container(const std::string& ns, const std::string& id);

  // Tasks. put inserts or updates (the container must exist).
  caf::expected<task_record> put_task(task_record rec);
  caf::expected<task_record> get_task(const std::string& ns, const std::string& id);
  caf::expected<std::vector<task_record>> list_tasks(const std::string& ns);
  caf::expected<task_record> delete_task(const std::string& ns, const std::string& id);
  // Records the exit, marks the task stopped and appends its /tasks/exit
  // event, in one transaction: an exit is reported once it is stored, and
  // costs one fsync. `batch` (events accepted before the exit, not appended
  // yet) goes in first; on success it holds every event appended, numbered,
  // the exit last.
  caf::expected<task_record> set_task_exit(const std::string& ns, const std::string& id,
                                           const task_exit& exit, std::vector<event_record>& batch);
  caf::expected<task_record> set_task_exit(const std::string& ns, const std::string& id,
                                           const task_exit& exit);
  // Never lowers the mark (an acknowledgement may arrive late); returns it.
  caf::expected<std::uint64_t> set_last_acked_event(const std::string& ns, const std::string& id,
                                                    std::uint64_t seq);

  // Images (metadata_store_images.cpp). put inserts or moves a name to a new
  // target (the namespace must exist); an empty ns for list means every
  // namespace. delete replies with the record removed.
  caf::expected<image_record> put_image(image_record rec);
  caf::expected<image_record> get_image(const std::string& ns, const std::string& name);
  caf::expected<std::vector<image_record>> list_images(const std::string& ns);
  caf::expected<image_record> delete_image(const std::string& ns, const std::string& name);
  // Every distinct target still named in any namespace: what content GC keeps.
  caf::expected<std::vector<std::string>> image_targets();

  // The event log (metadata_store_events.cpp): one gap-free, increasing
  // sequence for the daemon; the newest `event_retention` events are kept.
  static constexpr std::uint64_t default_event_retention = 100000;
  // Appends `batch` in order in one transaction, numbering each event
  // (seq), and prunes what falls out of the retention.
  caf::error append_events(std::vector<event_record>& batch);
  // Up to `limit` events numbered above `after`, oldest first. Errors:
  // invalid_argument when `after` is past the newest event;
  // failed_precondition when events after it were pruned.
  caf::expected<std::vector<event_record>> events_after(std::uint64_t after, std::size_t limit);
  struct event_span {
    std::uint64_t first = 0;  // the oldest kept; last + 1 when none is kept
    std::uint64_t last = 0;   // the newest ever numbered (0: none yet)
  };
  caf::expected<event_span> event_bounds();
  void set_event_retention(std::uint64_t keep) { event_retention_ = keep ? keep : 1; }
  std::uint64_t event_retention() const { return event_retention_; }

 private:
  metadata_store(sqlite3* db, std::string path);

  // Inside a transaction: appends and numbers `batch`, then prunes.
  void append_in_transaction(std::vector<event_record>& batch);

  sqlite3* db_;
  std::string path_;
  std::uint64_t event_retention_ = default_event_retention;
};

}  // namespace berth
