#include "actors/daemon/supervisor_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "actors/errors.hpp"

namespace berth {
namespace {

enum class child_kind { store, images, runtime, registry };

struct child {
  std::string name;  // "berth.store", "berth.runtime io.berth.runc.v1", ...
  child_kind kind;
  std::string runtime;  // the runtime's name, for child_kind::runtime
  caf::actor handle;    // the current incarnation; null while stopped
};

struct supervisor_state {
  berth_config cfg;
  supervisor_children spawn;
  std::shared_ptr<berth_handles> handles;
  berth_actors now;
  std::vector<child> children;  // in start order
  // Stopped by the supervisor itself: their down message is expected.
  std::set<caf::actor_addr> retired;
  std::deque<caf::actor_clock::time_point> failures;  // within the policy's window
  // Each start sequence has a number; an answer for an older one is stale.
  std::uint64_t generation = 0;
  bool serving = false;
  bool started_once = false;
  std::uint32_t restarts = 0;
  std::vector<caf::typed_response_promise<recovery_report>> ready_waiters;
  caf::expected<recovery_report> first_start = caf::error{};

  static inline const char* name = "berth.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

void fail(supervisor_pointer self, const std::string& name, const std::string& why);

// Ends children `from`.. newest first, with `reason` (user_shutdown for a
// stop; for a restart, the failure, so requests they held are answered with it).
void stop_children(supervisor_pointer self, size_t from,
                   caf::error reason = caf::exit_reason::user_shutdown) {
  auto& cs = self->state.children;
  for (size_t i = cs.size(); i-- > from;) {
    if (!cs[i].handle) continue;
    self->state.retired.insert(cs[i].handle.address());
    self->send_exit(cs[i].handle, reason);
    cs[i].handle = nullptr;
  }
}

void answer_ready(supervisor_pointer self, caf::expected<recovery_report> result) {
  auto& st = self->state;
  if (st.started_once) return;
  st.started_once = true;
  st.first_start = result;
  for (auto& rp : st.ready_waiters) {
    if (result)
      rp.deliver(*result);
    else
      rp.deliver(result.error());
  }
  st.ready_waiters.clear();
}

// The first start failed: start_berth throws with `why`; nothing to supervise.
void fail_first_start(supervisor_pointer self, const std::string& why) {
  answer_ready(self, make_error(errc::internal, why));
  stop_children(self, 0);
  self->quit(caf::exit_reason::user_shutdown);
}

// Spawns child i with the handles of the children before it.
caf::actor spawn_child(supervisor_pointer self, child& c) {
  auto& st = self->state;
  auto& sys = self->system();
  switch (c.kind) {
    case child_kind::store: {
      // One child with two handles: the store and the events actor.
      auto both = st.spawn.store(sys);
      st.now.store = both.store;
      st.now.events = both.events;
      return caf::actor_cast<caf::actor>(both.store);
    }
    case child_kind::images:
      st.now.images = st.spawn.images(sys, st.now.store);
      return caf::actor_cast<caf::actor>(st.now.images);
    case child_kind::runtime:
      for (auto& r : st.cfg.runtimes) {
        if (r.name != c.runtime) continue;
        auto rt = st.spawn.runtime(sys, r);
        st.now.runtimes[r.name] = rt;
        return caf::actor_cast<caf::actor>(rt);
      }
      throw std::runtime_error("runtime " + c.runtime + " is not configured");
    case child_kind::registry: {
      registry_config rc;
      rc.state_dir = st.cfg.state;
      rc.default_runtime = st.cfg.default_runtime;
      rc.default_pids_limit = st.cfg.pids_limit;
      rc.logs = st.cfg.logs;
      rc.images = st.now.images;
      rc.runtimes = st.now.runtimes;
      st.now.registry = st.spawn.registry(sys, std::move(rc), st.now.store, st.now.events);
      return caf::actor_cast<caf::actor>(st.now.registry);
    }
  }
  return nullptr;
}

// A start sequence failed at its last step (recovery).
void recovery_failed(supervisor_pointer self, const caf::error& err) {
  auto why = error_message(err);
  if (!self->state.started_once) {
    fail_first_start(self, "cannot recover the previous state: " + why);
    return;
  }
  fail(self, "berth.registry", "recovery failed: " + why);
}

void recover_registry(supervisor_pointer self, std::uint64_t gen) {
  self->request(self->state.now.registry, caf::infinite, recover_all_atom::value)
      .then(
          [self, gen](recovery_report& r) {
            auto& st = self->state;
            if (st.generation != gen) return;
            st.serving = true;
            st.handles->set(st.now);
            if (st.started_once)
              spdlog::info("berth's actors serve again after restart {}", st.restarts);
            answer_ready(self, r);
          },
          [self, gen](caf::error& err) {
            if (self->state.generation == gen) recovery_failed(self, err);
          });
}

// The registry recovers from the store and the shims; only then are the new
// handles published, so no request meets a registry that is half loaded.
void recover(supervisor_pointer self, std::uint64_t gen) {
  // The default namespace always exists (images are imported into it).
  self->request(self->state.now.store, caf::infinite, put_ns_atom::value,
                namespace_record{"default", {}, {}})
      .then(
          [self, gen](const namespace_record&) {
            if (self->state.generation == gen) recover_registry(self, gen);
          },
          [self, gen](caf::error& err) {
            if (self->state.generation != gen) return;
            if (error_code(err) == errc::already_exists)
              recover_registry(self, gen);
            else
              recovery_failed(self, err);
          });
}

void start_from(supervisor_pointer self, size_t from) {
  auto& st = self->state;
  auto gen = ++st.generation;
  st.serving = false;
  for (size_t i = from; i < st.children.size(); ++i) {
    auto& c = st.children[i];
    try {
      c.handle = spawn_child(self, c);
    } catch (const std::exception& e) {
      auto why = std::string("cannot start ") + c.name + ": " + e.what();
      if (!st.started_once) {
        fail_first_start(self, why);
        return;
      }
      // The next attempt comes from fail(); the policy bounds how often.
      fail(self, c.name, why);
      return;
    }
    self->monitor(c.handle);
  }
  recover(self, gen);
}

void give_up(supervisor_pointer self, const std::string& reason) {
  spdlog::critical("{}", reason);
  stop_children(self, 0);
  self->state.handles->set({});  // calls from now on: unavailable, at once
  answer_ready(self, make_error(errc::internal, reason));
  if (self->state.cfg.on_give_up) self->state.cfg.on_give_up(reason);
  self->quit(make_error(errc::internal, reason));
}

// Child `name` failed: count it against the policy, then restart it and every
// child after it.
void fail(supervisor_pointer self, const std::string& name, const std::string& why) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.failures.push_back(now);
  while (!st.failures.empty() && now - st.failures.front() > st.cfg.restarts.window)
    st.failures.pop_front();
  if (static_cast<int>(st.failures.size()) > st.cfg.restarts.max_restarts) {
    give_up(self, "berthd stops: " + std::to_string(st.failures.size()) +
                      " failures of its actors within " +
                      std::to_string(st.cfg.restarts.window.count()) + " ms (the limit is " +
                      std::to_string(st.cfg.restarts.max_restarts) + "); the last: " + name + ": " +
                      why);
    return;
  }
  size_t from = 0;
  while (from < st.children.size() && st.children[from].name != name) ++from;
  if (from == st.children.size()) from = st.children.size() - 1;  // the registry
  ++st.restarts;
  st.handles->note_failure(name + " failed: " + why);
  spdlog::error("{} failed: {}; restarting it{} (restart {})", name, why,
                from + 1 < st.children.size() ? " and the actors that depend on it" : "",
                st.restarts);
  stop_children(self, from, make_error(errc::internal, name + " failed: " + why));
  start_from(self, from);
}

supervisor_actor::behavior_type supervisor_fun(supervisor_pointer self, berth_config cfg,
                                               std::shared_ptr<berth_handles> handles,
                                               supervisor_children spawn) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.spawn = std::move(spawn);
  st.handles = std::move(handles);
  st.children.push_back({"berth.store", child_kind::store, {}, nullptr});
  st.children.push_back({"berth.images", child_kind::images, {}, nullptr});
  for (auto& r : st.cfg.runtimes)
    st.children.push_back({"berth.runtime " + r.name, child_kind::runtime, r.name, nullptr});
  st.children.push_back({"berth.registry", child_kind::registry, {}, nullptr});

  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.retired.erase(msg.source) > 0) return;
    for (auto& c : st.children) {
      if (!c.handle || c.handle.address() != msg.source) continue;
      c.handle = nullptr;
      auto why = msg.reason ? self->system().render(msg.reason)
                            : std::string("it stopped without being asked to");
      if (error_code(msg.reason) == errc::internal) why = error_message(msg.reason);
      fail(self, c.name, why);
      return;
    }
  });
  // stop_berth (or the embedding program) ends the supervisor; it ends its
  // children first, newest first. Shims and containers keep running.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    stop_children(self, 0);
    self->quit(msg.reason);
  });
  start_from(self, 0);
  return {
      [self](supervisor_ready_atom) -> caf::result<recovery_report> {
        auto& st = self->state;
        if (st.started_once) {
          if (st.first_start) return *st.first_start;
          return st.first_start.error();
        }
        auto rp = self->make_response_promise<recovery_report>();
        st.ready_waiters.push_back(rp);
        return rp;
      },
      [self](supervisor_restarts_atom) {
        return caf::make_result(self->state.restarts, self->state.serving);
      },
  };
}

}  // namespace

supervisor_children real_children(std::shared_ptr<io_thread> io, const berth_config& cfg) {
  supervisor_children c;
  c.store = [root = cfg.root, events = cfg.events](caf::actor_system& sys) {
    // One actor is both the store and the events actor: an exit and its
    // event are one transaction (events.hpp).
    return spawn_store_and_events(sys, root, events);
  };
  c.images = [ic = images_config{cfg.root, cfg.snapshotter, cfg.image_limits, cfg.registries}](
                 caf::actor_system& sys, store_actor store) {
    return spawn_images(sys, std::move(store), ic);
  };
  c.runtime = [io = std::move(io)](caf::actor_system& sys, const runtime_config& r) {
    return spawn_runtime(sys, io, r);
  };
  c.registry = [](caf::actor_system& sys, registry_config rc, store_actor store,
                  events_actor events) {
    return spawn_registry(sys, std::move(rc), std::move(store), std::move(events));
  };
  return c;
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                                  berth_config cfg, std::shared_ptr<berth_handles> handles) {
  auto children = real_children(std::move(io), cfg);
  return spawn_supervisor(sys, std::move(cfg), std::move(handles), std::move(children));
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, berth_config cfg,
                                  std::shared_ptr<berth_handles> handles,
                                  supervisor_children children) {
  return sys.spawn(supervisor_fun, std::move(cfg), std::move(handles), std::move(children));
}

}  // namespace berth
