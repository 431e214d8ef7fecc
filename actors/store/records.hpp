// The metadata berthd persists, as plain structs. Each has a CAF `inspect`, so
// it can travel in a message (also to another process through the middleman);
// add_store_types() announces them to an actor_system_config.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

// Free-form key/value metadata a client attaches (stored as a JSON object).
using label_map = std::map<std::string, std::string>;

struct namespace_record {
  std::string name;
  label_map labels;
  caf::timestamp created{};  // set by the store when the namespace is created

  bool operator==(const namespace_record&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, namespace_record& x) {
  return f(caf::meta::type_name("berth.namespace_record"), x.name, x.labels, x.created);
}

struct container_record {
  std::string ns;  // the namespace ("namespace" is a C++ keyword)
  std::string id;
  std::string image;
  std::string runtime;          // e.g. "io.berth.runc.v1"
  std::string runtime_options;  // a JSON document, or empty
  std::string spec;             // the OCI runtime spec as JSON, or empty
  std::string snapshot_key;
  label_map labels;
  caf::timestamp created_at{};  // set by the store on first put, kept afterwards
  caf::timestamp updated_at{};  // set by the store on every put

  bool operator==(const container_record&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_record& x) {
  return f(caf::meta::type_name("berth.container_record"), x.ns, x.id, x.image, x.runtime,
           x.runtime_options, x.spec, x.snapshot_key, x.labels, x.created_at, x.updated_at);
}

// The task's lifecycle state as last persisted (the task actor's behaviors).
enum class task_status : std::uint8_t {
  unknown = 0,
  created,
  running,
  paused,
  stopped,
  created_checkpoint,  // created from a checkpoint, not started yet
};

// "created", "running", ...; the text stored in the database.
const char* to_string(task_status status);
std::optional<task_status> task_status_from_string(std::string_view text);

struct task_record {
  std::string ns;
  std::string id;  // the container's id: one task per container
  std::string shim_address;
  std::int32_t shim_pid = 0;
  std::int32_t pid = 0;  // the init process
  task_status status = task_status::unknown;
  std::int32_t exit_code = 0;
  std::int32_t exit_signal = 0;
  caf::timestamp exited_at{};  // epoch while the task has not exited
  std::string exit_reason;
  // Highest shim event sequence number the daemon has acknowledged; shim
  // events at or below it are duplicates.
  std::uint64_t last_acked_event = 0;

  bool operator==(const task_record&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_record& x) {
  return f(caf::meta::type_name("berth.task_record"), x.ns, x.id, x.shim_address, x.shim_pid, x.pid,
           x.status, x.exit_code, x.exit_signal, x.exited_at, x.exit_reason, x.last_acked_event);
}

// How a task's init process ended; the argument of the store's taskExit.
struct task_exit {
  std::int32_t exit_code = 0;
  std::int32_t exit_signal = 0;
  caf::timestamp exited_at{};
  std::string exit_reason;

  bool operator==(const task_exit&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_exit& x) {
  return f(caf::meta::type_name("berth.task_exit"), x.exit_code, x.exit_signal, x.exited_at,
           x.exit_reason);
}

// A name for an image in a namespace: the manifest digest it points at in
// the content store (several names may share one), as `berth i ls` shows it.
struct image_record {
  std::string ns;
  std::string name;        // normalised: docker.io/library/busybox:latest
  std::string target;      // manifest digest, sha256:<64 hex>
  std::string media_type;  // of the manifest
  std::int64_t size = 0;   // manifest + config + layers, bytes
  label_map labels;
  caf::timestamp created_at{};  // set by the store on first put, kept afterwards
  caf::timestamp updated_at{};  // set by the store on every put

  bool operator==(const image_record&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_record& x) {
  return f(caf::meta::type_name("berth.image_record"), x.ns, x.name, x.target, x.media_type, x.size,
           x.labels, x.created_at, x.updated_at);
}

// One entry of the event log. `details` holds the fields of the event's kind
// (an exit's status, a container's image, ...); which ones apply is the
// topic's business (actors/daemon/events.cpp), the store keeps them all.
struct event_details {
  std::string exec_id;
  std::uint32_t pid = 0;
  std::string bundle;
  std::int32_t exit_code = 0;
  std::int32_t exit_signal = 0;
  caf::timestamp exited_at{};
  std::string exit_reason;
  std::string image;
  std::string runtime;
  std::string name;

  bool operator==(const event_details&) const = default;
};

struct event_record {
  std::uint64_t seq = 0;  // assigned by the store when it appends the event
  caf::timestamp time{};
  std::string ns;
  std::string id;     // the task, container or image
  std::string topic;  // "/tasks/exit", ...
  event_details details;

  bool operator==(const event_record&) const = default;
};

// Announces the records (and vectors of them) and the berth error category.
void add_store_types(caf::actor_system_config& cfg);

}  // namespace berth
