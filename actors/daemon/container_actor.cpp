#include "actors/daemon/container_actor.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include "actors/daemon/bundle.hpp"
#include "actors/daemon/task_log_options.hpp"
#include "actors/errors.hpp"

namespace berth {
namespace {

struct container_state {
  container_record record;
  std::string state_dir;
  task_context ctx;
  task_actor task;  // the one task, while it lives
  images_actor images;

  static inline const char* name = "berth.container";
};

using container_pointer = container_actor::stateful_pointer<container_state>;

std::string who(container_pointer self) {
  return "container " + self->state.record.ns + "/" + self->state.record.id;
}

void publish(container_pointer self, event_kind kind) {
  berth_event e;
  e.ns = self->state.record.ns;
  e.id = self->state.record.id;
  e.time = caf::make_timestamp();
  e.kind = kind;
  self->send(self->state.ctx.events, publish_atom::value, std::move(e));
}

void watch(container_pointer self, task_actor task) {
  self->state.task = task;
  self->monitor(task);
  self->link_to(task);
}

// Runs `none` once the container has no task, `some` if it still has one.
template <class None, class Some>
void when_taskless(container_pointer self, None none, Some some) {
  auto task = self->state.task;
  if (!task) {
    none();
    return;
  }
  self->request(task, caf::infinite, task_info_atom::value)
      .then([some](const task_info&) mutable { some(); },
            [self, task, none](caf::error&) mutable {
              if (self->state.task == task) self->state.task = nullptr;
              none();
            });
}

void delete_container(container_pointer self, caf::response_promise rp) {
  auto& r = self->state.record;
  self->request(self->state.ctx.store, caf::infinite, del_cont_atom::value, r.ns, r.id)
      .then(
          [self, rp](container_record& gone) mutable {
            if (!gone.snapshot_key.empty() && self->state.images)
              self->request(self->state.images, caf::infinite, snap_remove_atom::value,
                            gone.snapshot_key)
                  .then([](const std::string&) {},
                        [key = gone.snapshot_key](caf::error& err) {
                          spdlog::warn("cannot remove snapshot {}: {}", key, error_message(err));
                        });
            publish(self, event_kind::container_delete);
            rp.deliver(std::move(gone));
            self->quit();
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

void spawn_and_create(container_pointer self, task_create req, caf::response_promise rp,
                      std::vector<mount_spec> rootfs) {
  auto& st = self->state;
  auto dir = bundle_dir(st.state_dir, st.record.ns, st.record.id);
  if (auto why = write_bundle(dir, st.record.spec, st.record.runtime); !why.empty()) {
    rp.deliver(make_error(errc::internal, "cannot create task for " + who(self) + ": " + why));
    return;
  }
  task_params params{st.record.ns,
                     st.record.id,
                     dir,
                     req.stdio,
                     std::move(rootfs),
                     req.checkpoint,
                     log_limits_of(st.record.runtime_options),
                     req.start};
  auto task = spawn_task(self->system(), st.ctx, std::move(params));
  watch(self, task);
  self->request(task, caf::infinite, create_atom::value)
      .then(
          [self, rp, task, started = req.start](std::uint32_t pid) mutable {
            auto status = started ? task_status::running : task_status::created;
            task_info info{self->state.record.ns, self->state.record.id, "", pid, status, {}};
            rp.deliver(task_handle{task, info});
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

// A container made from an image gets its snapshot's mounts at the rootfs;
// the shim mounts them before `runc create` and unmounts them at delete.
void create_task(container_pointer self, task_create req, caf::response_promise rp) {
  auto& st = self->state;
  if (st.record.snapshot_key.empty() || !st.images) {
    spawn_and_create(self, std::move(req), rp, {});
    return;
  }
  self->request(st.images, caf::infinite, snap_mounts_atom::value, st.record.snapshot_key)
      .then(
          [self, req, rp](std::vector<images::mount_spec>& ms) mutable {
            std::vector<mount_spec> rootfs;
            for (auto& m : ms) rootfs.push_back(mount_spec{m.type, m.source, "", m.options});
            spawn_and_create(self, std::move(req), rp, std::move(rootfs));
          },
          [self, rp](caf::error& err) mutable {
            rp.deliver(make_error(error_code(err), "cannot create task for " + who(self) + ": " +
                                                       error_message(err)));
          });
}

container_actor::behavior_type serving(container_pointer self) {
  // The registry's end (a shutdown, or a failure the supervisor repairs by
  // starting a new registry) ends its containers; its task's end is only
  // forgotten (the down handler).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::normal) return;  // a task deleted
    bool from_task = self->state.task && msg.source == self->state.task.address();
    if (!from_task || msg.reason == caf::exit_reason::user_shutdown ||
        msg.reason == caf::exit_reason::kill)
      self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.task && msg.source == self->state.task.address()) self->state.task = nullptr;
  });
  return {
      [self](get_cont_atom) { return self->state.record; },
      [self](container_update& u) -> caf::result<container_record> {
        auto updated = self->state.record;
        for (auto& [k, v] : u.labels) {
          if (v.empty())
            updated.labels.erase(k);
          else
            updated.labels[k] = v;
        }
        auto rp = self->make_response_promise<container_record>();
        self->request(self->state.ctx.store, caf::infinite, put_cont_atom::value, updated)
            .then(
                [self, rp](container_record& stored) mutable {
                  self->state.record = stored;
                  publish(self, event_kind::container_update);
                  rp.deliver(std::move(stored));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](del_cont_atom) -> caf::result<container_record> {
        auto rp = self->make_response_promise<container_record>();
        // A task that has just been deleted may not have ended yet: ask it.
        when_taskless(
            self, [self, rp]() mutable { delete_container(self, rp); },
            [self, rp]() mutable {
              rp.deliver(make_error(
                  errc::failed_precondition,
                  "cannot delete " + who(self) + ": it has a task; delete the task first"));
            });
        return rp;
      },
      [self](task_create& req) -> caf::result<task_handle> {
        auto rp = self->make_response_promise<task_handle>();
        when_taskless(
            self, [self, req, rp]() mutable { create_task(self, std::move(req), rp); },
            [self, rp]() mutable {
              rp.deliver(
                  make_error(errc::already_exists, "task for " + who(self) + " already exists"));
            });
        return rp;
      },
      [self](get_task_atom) -> caf::result<task_handle> {
        auto task = self->state.task;
        if (!task)
          return make_error(errc::not_found, "task " + self->state.record.ns + "/" +
                                                 self->state.record.id + " not found");
        auto rp = self->make_response_promise<task_handle>();
        self->request(task, caf::infinite, task_info_atom::value)
            .then(
                [rp, task](task_info& info) mutable {
                  rp.deliver(task_handle{task, info});
                },
                [self, rp](caf::error& err) mutable {
                  // The task ended (deleted) before this container heard of it.
                  if (err.category() != error_category) {
                    auto& r = self->state.record;
                    err = make_error(errc::not_found, "task " + r.ns + "/" + r.id + " not found");
                  }
                  rp.deliver(std::move(err));
                });
        return rp;
      },
      [self](list_task_atom) -> caf::result<std::vector<task_info>> {
        auto task = self->state.task;
        if (!task) return std::vector<task_info>{};
        auto rp = self->make_response_promise<std::vector<task_info>>();
        self->request(task, caf::infinite, task_info_atom::value)
            .then([rp](task_info& info) mutable { rp.deliver(std::vector<task_info>{info}); },
                  // A task that just ended has nothing to list.
                  [rp](caf::error&) mutable { rp.deliver(std::vector<task_info>{}); });
        return rp;
      },
      [self](adopt_task_atom, task_record& rec) {
        auto& st = self->state;
        task_params params{rec.ns, rec.id, bundle_dir(st.state_dir, rec.ns, rec.id), {}, {}, {}};
        watch(self,
              spawn_recovered_task(self->system(), st.ctx, std::move(params), std::move(rec)));
      },
  };
}

container_actor::behavior_type container_fun(container_pointer self, container_record record,
                                             std::string state_dir, task_context ctx,
                                             images_actor images) {
  self->state.images = std::move(images);
  self->state.record = std::move(record);
  self->state.state_dir = std::move(state_dir);
  self->state.ctx = std::move(ctx);
  return serving(self);
}

}  // namespace

std::string bundle_dir(const std::string& state_dir, const std::string& ns, const std::string& id) {
  return state_dir + "/" + ns + "/" + id;
}

container_actor spawn_container(caf::actor_system& sys, container_record record,
                                std::string state_dir, task_context ctx, images_actor images) {
  return sys.spawn(container_fun, std::move(record), std::move(state_dir), std::move(ctx),
                   std::move(images));
}

}  // namespace berth
