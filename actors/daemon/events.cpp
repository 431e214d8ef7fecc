#include "actors/daemon/events.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <vector>

namespace berth {

const char* topic_of(event_kind kind) {
  switch (kind) {
    case event_kind::task_create:
      return "/tasks/create";
    case event_kind::task_start:
      return "/tasks/start";
    case event_kind::task_exit:
      return "/tasks/exit";
    case event_kind::task_oom:
      return "/tasks/oom";
    case event_kind::task_paused:
      return "/tasks/paused";
    case event_kind::task_resumed:
      return "/tasks/resumed";
    case event_kind::task_delete:
      return "/tasks/delete";
    case event_kind::task_exec_added:
      return "/tasks/exec-added";
    case event_kind::task_exec_started:
      return "/tasks/exec-started";
    case event_kind::container_create:
      return "/containers/create";
    case event_kind::container_update:
      return "/containers/update";
    case event_kind::container_delete:
      return "/containers/delete";
    case event_kind::image_create:
      return "/images/create";
    case event_kind::image_update:
      return "/images/update";
    case event_kind::image_delete:
      return "/images/delete";
  }
  return "/unknown";
}

bool event_filter::matches(const berth_event& e) const {
  if (!ns.empty() && e.ns != ns) return false;
  return e.topic.compare(0, topic_prefix.size(), topic_prefix) == 0;
}

namespace {

struct subscription {
  event_filter filter;
  event_subscriber who;
};

struct events_state {
  std::uint64_t sequence = 0;
  std::vector<subscription> subscribers;
  static inline const char* name = "berth.events";
};

using events_pointer = events_actor::stateful_pointer<events_state>;

void forget(events_pointer self, const caf::actor_addr& who) {
  auto& subs = self->state.subscribers;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const subscription& s) { return s.who.address() == who; }),
             subs.end());
}

events_actor::behavior_type events_fun(events_pointer self) {
  self->set_down_handler([self](caf::down_msg& msg) { forget(self, msg.source); });
  report_exceptions(self, "berth.events");
  return {
      failpoint_handler(),
      [self](publish_atom, berth_event& e) {
        e.sequence = ++self->state.sequence;
        e.topic = topic_of(e.kind);
        for (auto& s : self->state.subscribers)
          if (s.filter.matches(e)) self->send(s.who, e);
      },
      [self](subscribe_atom, event_filter& filter, event_subscriber& who) -> std::uint64_t {
        self->monitor(who);
        self->state.subscribers.push_back({std::move(filter), std::move(who)});
        return self->state.sequence;
      },
      [self](unsubscribe_atom, event_subscriber& who) {
        self->demonitor(who.address());
        forget(self, who.address());
      },
  };
}

}  // namespace

events_actor spawn_events(caf::actor_system& sys) {
  return sys.spawn(events_fun);
}

}  // namespace berth
