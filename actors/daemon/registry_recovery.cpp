// The registry's recovery: once, before it serves, it rebuilds containers
// and tasks from the store and cleans up what no task owns. See
// registry_data.hpp for the registry's files.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include "actors/daemon/bundle.hpp"
#include "actors/daemon/registry_data.hpp"
#include "actors/errors.hpp"
#include "schema/identifier.hpp"

namespace berth::registry_detail {
namespace {

// Container snapshots no container record names (berthd died between
// deleting the record and the snapshot) are removed, then whatever no image
// references; `done` runs either way, since recovery must go on.
template <class Done>
void reconcile_snapshots(registry_pointer self, std::vector<std::string> owned, Done done) {
  if (!self->state.cfg.images) {
    done();
    return;
  }
  self->request(self->state.cfg.images, caf::infinite, snap_reconcile_atom::value, std::move(owned))
      .then([done](const std::vector<std::string>&) mutable { done(); },
            [done](caf::error& err) mutable {
              spdlog::error("cannot reconcile snapshots: {}", error_message(err));
              done();
            });
}

// A bundle in <state>/<ns>/<id> that no task owns (a task deleted while
// berthd was down, a create cut short by a crash).
struct orphan_bundle {
  std::string ns, id, dir;
  std::string runtime;     // the runtime recorded in the bundle; "" for an old bundle
  bool had_shim = false;   // shim.pid or shim.sock: berth-shim delete must clean up
  bool removable = false;  // no shim, but a config.json or a mount it left
};

// Walks the state directory (blocking: run off the scheduler). The rootfs of
// each orphan is unmounted first, whatever else is there: nothing berth knows
// runs on it, and a mount the shim left (it died, or never got its delete)
// would keep the container's snapshot busy and the bundle from going.
std::vector<orphan_bundle> find_orphans(const std::string& state_dir,
                                        const std::set<std::string>& owned) {
  namespace fs = std::filesystem;
  std::vector<orphan_bundle> found;
  std::error_code ec;
  for (auto ns_it = fs::directory_iterator(state_dir, ec); !ec && ns_it != fs::directory_iterator();
       ns_it.increment(ec)) {
    auto ns = ns_it->path().filename().string();
    if (!ns_it->is_directory() || check_identifier("namespace", ns)) continue;
    std::error_code ec2;
    for (auto it = fs::directory_iterator(ns_it->path(), ec2);
         !ec2 && it != fs::directory_iterator(); it.increment(ec2)) {
      auto id = it->path().filename().string();
      if (!it->is_directory() || check_identifier("task id", id) || owned.count(key_of(ns, id)))
        continue;
      orphan_bundle o{ns, id, it->path().string(), {}, false, false};
      o.had_shim = fs::exists(o.dir + "/shim.pid") || fs::exists(o.dir + "/shim.sock");
      o.runtime = bundle_runtime(o.dir);
      std::string why;
      int unmounted = unmount_rootfs(o.dir, why);
      if (unmounted < 0) spdlog::error("{}", why);
      if (unmounted > 0) spdlog::warn("unmounted the rootfs of {}/{}: no task owns it", ns, id);
      o.removable = fs::exists(o.dir + "/config.json") || unmounted > 0;
      found.push_back(std::move(o));
    }
  }
  return found;
}

// The runtime that made an orphan: the one its bundle names, else (a bundle
// from before berth recorded it, or a runtime no longer configured) the
// default, said in the log.
runtime_actor runtime_of(registry_pointer self, const orphan_bundle& o) {
  auto& st = self->state;
  auto it = st.cfg.runtimes.find(o.runtime);
  if (it != st.cfg.runtimes.end()) return it->second;
  if (o.runtime.empty())
    spdlog::warn("bundle {} records no runtime (made by an older berth); cleaning it up with {}",
                 o.dir, st.cfg.default_runtime);
  else
    spdlog::warn(
        "bundle {} was made by runtime {}, which is not configured; cleaning it up with {}", o.dir,
        o.runtime, st.cfg.default_runtime);
  auto def = st.cfg.runtimes.find(st.cfg.default_runtime);
  return def == st.cfg.runtimes.end() ? runtime_actor{} : def->second;
}

// ---- recovering: once, before serving ------------------------------------------------
//
// The steps in order, each starting the next: namespaces, containers, tasks
// (each task actor then asks its own shim), orphaned bundles found and their
// rootfs unmounted, their shims deleted by the runtime that made them (all of
// them waited for), their bundles removed, snapshots no container owns
// removed; then the answer, and `serving`. berthd opens its API socket only
// after that answer, so a client never sees a half-recovered daemon.

void recovery_done(registry_pointer self) {
  auto& st = self->state;
  st.recovery.deliver(st.recovered);
  self->become(serving(self));
}

void recovery_failed(registry_pointer self, caf::error err) {
  self->state.recovery.deliver(std::move(err));
  self->become(serving(self));
}

void reconcile(registry_pointer self) {
  // After the orphans: their rootfs mounts are gone, so are the snapshots'
  // last users.
  reconcile_snapshots(self, std::move(self->state.snapshots), [self] { recovery_done(self); });
}

void remove_orphan_bundles(registry_pointer self, std::vector<std::string> dirs) {
  if (dirs.empty()) {
    reconcile(self);
    return;
  }
  off_scheduler(
      self,
      [dirs] {
        for (auto& dir : dirs)
          if (auto e = remove_bundle(dir); !e.empty()) spdlog::warn("{}", e);
      },
      [self] { reconcile(self); });
}

void clean_orphans(registry_pointer self, const std::vector<orphan_bundle>& orphans) {
  struct progress {
    size_t left = 0;
    std::vector<std::string> removable;
  };
  auto p = std::make_shared<progress>();
  std::vector<const orphan_bundle*> shims;
  for (auto& o : orphans) {
    if (o.had_shim)
      shims.push_back(&o);
    else if (o.removable)
      p->removable.push_back(o.dir);
  }
  self->state.recovered.orphan_shims = static_cast<std::uint32_t>(shims.size());
  if (shims.empty()) {
    remove_orphan_bundles(self, std::move(p->removable));
    return;
  }
  p->left = shims.size();
  auto one_done = [self, p] {
    if (--p->left == 0) remove_orphan_bundles(self, std::move(p->removable));
  };
  for (auto* o : shims) {
    auto rt = runtime_of(self, *o);
    if (!rt) {
      spdlog::error("cannot delete orphaned shim of {}/{}: no runtime to do it", o->ns, o->id);
      one_done();
      continue;
    }
    spdlog::warn("deleting shim of {}/{} (runtime {}): no task owns it", o->ns, o->id,
                 o->runtime.empty() ? self->state.cfg.default_runtime : o->runtime);
    self->request(rt, caf::infinite, cleanup_shim_atom::value, o->ns, o->id, o->dir, o->dir)
        .then(
            [p, dir = o->dir, one_done](const exit_status&) {
              p->removable.push_back(dir);
              one_done();
            },
            [ns = o->ns, id = o->id, one_done](caf::error& err) {
              spdlog::error("cannot delete orphaned shim of {}/{}: {}", ns, id, error_message(err));
              one_done();
            });
  }
}

void find_orphan_bundles(registry_pointer self, std::set<std::string> owned) {
  auto found = std::make_shared<std::vector<orphan_bundle>>();
  off_scheduler(
      self,
      [found, dir = self->state.cfg.state_dir, owned = std::move(owned)] {
        *found = find_orphans(dir, owned);
      },
      [self, found] { clean_orphans(self, *found); });
}

void load_tasks(registry_pointer self) {
  self->request(self->state.store, caf::infinite, list_task_atom::value, std::string{})
      .then(
          [self](std::vector<task_record>& ts) {
            auto& st = self->state;
            std::set<std::string> owned;
            for (auto& t : ts) {
              auto key = key_of(t.ns, t.id);
              auto it = st.containers.find(key);
              if (it == st.containers.end()) continue;
              owned.insert(key);
              self->send(it->second, adopt_task_atom::value, std::move(t));
              ++st.recovered.tasks;
            }
            find_orphan_bundles(self, std::move(owned));
          },
          [self](caf::error& err) { recovery_failed(self, std::move(err)); });
}

void load_containers(registry_pointer self) {
  self->request(self->state.store, caf::infinite, list_cont_atom::value, std::string{})
      .then(
          [self](std::vector<container_record>& cs) {
            auto& st = self->state;
            for (auto& c : cs)
              if (!c.snapshot_key.empty()) st.snapshots.push_back(c.snapshot_key);
            st.recovered.containers = static_cast<std::uint32_t>(cs.size());
            for (auto& c : cs) adopt_container(self, std::move(c));
            load_tasks(self);
          },
          [self](caf::error& err) { recovery_failed(self, std::move(err)); });
}

void load_namespaces(registry_pointer self) {
  self->request(self->state.store, caf::infinite, list_ns_atom::value)
      .then(
          [self](std::vector<namespace_record>& nss) {
            for (auto& n : nss) self->state.namespaces.insert(n.name);
            load_containers(self);
          },
          [self](caf::error& err) { recovery_failed(self, std::move(err)); });
}

}  // namespace

// Only recover_all is taken; everything else waits in the mailbox (skip)
// until `serving`. A typed behavior must name the whole interface, so this
// partial one is built unchecked.
registry_actor::behavior_type recovering(registry_pointer self) {
  self->set_default_handler(caf::skip);
  return {registry_actor::behavior_type::unsafe_init{},
          caf::behavior{
              [self](recover_all_atom) -> caf::result<recovery_report> {
                auto& st = self->state;
                if (st.recovery.pending()) return caf::skip;
                st.recovery = self->make_response_promise<recovery_report>();
                load_namespaces(self);
                return st.recovery;
              },
          }};
}

}  // namespace berth::registry_detail
