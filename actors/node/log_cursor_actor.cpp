#include "actors/node/log_cursor_actor.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>

namespace berth {
namespace {

using idle_atom = caf::atom_constant<caf::atom("logIdle")>;
constexpr auto kIdle = std::chrono::minutes(1);

// The largest batch a peer may ask for: a batch is one message.
constexpr std::uint64_t kMaxBatch = 1024 * 1024;

struct cursor_state {
  std::unique_ptr<task_log_reader> reader;
  std::uint64_t requests = 0;  // the idle check's generation
  static inline const char* name = "berth.log_cursor";
};

using cursor_self = caf::typed_event_based_actor<
    caf::replies_to<log_next_atom, std::uint64_t, std::int64_t>::with<std::vector<log_record>>,
    caf::reacts_to<idle_atom, std::uint64_t>>;
using cursor_pointer = caf::stateful_actor<cursor_state, cursor_self>*;

cursor_self::behavior_type cursor(cursor_pointer self, std::string path, std::uint64_t tail) {
  self->state.reader = std::make_unique<task_log_reader>(std::move(path));
  if (tail > 0) self->state.reader->tail(tail);
  self->delayed_send(self, kIdle, idle_atom::value, std::uint64_t{0});
  return {
      [self](log_next_atom, std::uint64_t max_bytes, std::int64_t since_ns) {
        auto generation = ++self->state.requests;
        self->delayed_send(self, kIdle, idle_atom::value, generation);
        return self->state.reader->next(
            static_cast<std::size_t>(std::min(std::max<std::uint64_t>(max_bytes, 1), kMaxBatch)),
            since_ns);
      },
      [self](idle_atom, std::uint64_t generation) {
        if (generation == self->state.requests) self->quit();
      },
  };
}

}  // namespace

log_cursor_actor spawn_log_cursor(caf::actor_system& sys, std::string path, std::uint64_t tail) {
  return caf::actor_cast<log_cursor_actor>(sys.spawn(cursor, std::move(path), tail));
}

}  // namespace berth
