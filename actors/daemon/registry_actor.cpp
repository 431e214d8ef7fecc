// The registry serving: requests validated and routed to the container
// actors; its recovery, before it serves, is in registry_recovery.cpp
// (registry_data.hpp has the state they share).
#include "actors/daemon/registry_actor.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/skip.hpp>

#include <functional>
#include <memory>
#include <set>
#include <utility>

#include "actors/daemon/bundle.hpp"
#include "actors/daemon/capability_sets.hpp"
#include "actors/daemon/host_devices.hpp"
#include "actors/daemon/oci_spec.hpp"
#include "actors/daemon/registry_data.hpp"
#include "actors/daemon/task_log_options.hpp"
#include "actors/errors.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/supervised.hpp"
#include "schema/identifier.hpp"

namespace berth::registry_detail {
namespace {

std::string ns_or_default(const std::string& ns) {
  return ns.empty() ? "default" : ns;
}

caf::error check_names(const std::string& ns, const std::string& id, const char* what) {
  if (auto e = check_identifier("namespace", ns)) return make_error(errc::invalid_argument, *e);
  if (auto e = check_identifier(what, id)) return make_error(errc::invalid_argument, *e);
  return caf::none;
}

std::string runtime_names(registry_pointer self) {
  std::string names;
  for (auto& [name, rt] : self->state.cfg.runtimes) names += (names.empty() ? "" : ", ") + name;
  return names;
}

task_context context_for(registry_pointer self, const std::string& runtime) {
  auto& st = self->state;
  auto it = st.cfg.runtimes.find(runtime);
  if (it == st.cfg.runtimes.end()) {
    spdlog::error("runtime {} is not configured any more; using {}", runtime,
                  st.cfg.default_runtime);
    it = st.cfg.runtimes.find(st.cfg.default_runtime);
  }
  task_context ctx{st.store, st.events, {}};
  if (it != st.cfg.runtimes.end()) ctx.runtime = it->second;
  return ctx;
}

// The container actor for ns/id, or a not_found error naming it.
caf::expected<container_actor> find_container(registry_pointer self, const std::string& ns,
                                              const std::string& id, const char* what) {
  if (auto err = check_names(ns, id, "container id")) return err;
  auto it = self->state.containers.find(key_of(ns, id));
  if (it == self->state.containers.end())
    return make_error(errc::not_found, std::string(what) + " " + ns + "/" + id + " not found");
  return it->second;
}

caf::error rootfs_refused(const std::string& ns, const std::string& id, const std::string& rootfs) {
  return make_error(errc::invalid_argument, "invalid rootfs \"" + rootfs + "\" for container " +
                                                ns + "/" + id +
                                                ": must be an absolute path to a directory");
}

// Refuses what cannot become a container before anything is stored.
caf::expected<container_record> validate(registry_pointer self, container_create& req) {
  auto& st = self->state;
  req.ns = ns_or_default(req.ns);
  if (auto err = check_names(req.ns, req.id, "container id")) return err;
  if (req.runtime.empty()) req.runtime = st.cfg.default_runtime;
  if (!st.cfg.runtimes.count(req.runtime))
    return make_error(errc::invalid_argument, "unknown runtime \"" + req.runtime +
                                                  "\" for container " + req.ns + "/" + req.id +
                                                  "; known runtimes: " + runtime_names(self));
  auto logs = choose_log_limits(req.options.log_max_size, req.options.log_max_files, st.cfg.logs,
                                req.ns, req.id);
  if (!logs) return logs.error();
  auto key = key_of(req.ns, req.id);
  if (st.containers.count(key) || st.creating.count(key))
    return make_error(errc::already_exists,
                      "container " + req.ns + "/" + req.id + " already exists");
  auto& rootfs = req.options.rootfs;
  if (rootfs.empty()) {
    // From an image: the snapshot and the spec come once the images actor
    // has prepared it (prepare_from_image).
    if (req.image.empty())
      return make_error(errc::invalid_argument,
                        "container " + req.ns + "/" + req.id + " needs an image or a rootfs");
    if (!st.cfg.images)
      return make_error(errc::not_found, "image \"" + req.image + "\" not found in namespace " +
                                             req.ns + " (this berthd has no image store)");
    container_record rec;
    rec.ns = req.ns;
    rec.id = req.id;
    try {
      rec.image = images::normalize_image_name(req.image);
    } catch (const std::exception& e) {
      return make_error(errc::invalid_argument, e.what());
    }
    rec.runtime = req.runtime;
    rec.runtime_options = with_log_limits(rec.runtime_options, *logs);
    rec.labels = req.labels;
    return rec;
  }
  // Whether it is a directory is asked off the scheduler (check_rootfs).
  if (rootfs.front() != '/' || rootfs.find("/../") != std::string::npos)
    return rootfs_refused(req.ns, req.id, rootfs);
  auto spec = generate_spec(req.ns, req.id, req.options, rootfs);
  if (!spec) return spec.error();
  container_record rec;
  rec.ns = req.ns;
  rec.id = req.id;
  rec.image = req.image;
  rec.runtime = req.runtime;
  rec.spec = std::move(*spec);
  rec.runtime_options = with_log_limits(rec.runtime_options, *logs);
  rec.labels = req.labels;
  return rec;
}

// Prepares the container's snapshot (unpacking the image if needed) and
// writes its spec from the image's process with the create options on top;
// the snapshot goes again if anything after it fails.
template <class Then>
void prepare_from_image(registry_pointer self, container_record rec, container_options opts,
                        caf::typed_response_promise<container_record> rp, Then then) {
  auto& st = self->state;
  prepare_request req;
  req.ns = rec.ns;
  req.image = rec.image;
  req.snapshot_key = rec.ns + "/" + rec.id;
  req.args = opts.args;
  req.env = opts.env;
  req.cwd = opts.cwd;
  req.user = opts.user;
  auto key = key_of(rec.ns, rec.id);
  self->request(st.cfg.images, caf::infinite, snap_prepare_atom::value, std::move(req))
      .then(
          [self, rec, opts, rp, then, key](prepared_snapshot& p) mutable {
            opts.args = p.args;
            opts.env = p.env;
            opts.cwd = p.cwd;
            opts.uid = p.uid;  // the user resolved in the image's /etc/passwd
            opts.gid = p.gid;
            opts.additional_gids = p.additional_gids;
            auto spec = generate_spec(rec.ns, rec.id, opts, "rootfs");
            if (!spec) {
              caf::anon_send(self->state.cfg.images, snap_remove_atom::value, p.snapshot_key);
              self->state.creating.erase(key);
              rp.deliver(spec.error());
              return;
            }
            rec.spec = std::move(*spec);
            rec.snapshot_key = p.snapshot_key;
            then(std::move(rec));
          },
          [self, rp, key](caf::error& err) mutable {
            self->state.creating.erase(key);
            rp.deliver(std::move(err));
          });
}

void store_container(registry_pointer self, container_record rec,
                     caf::typed_response_promise<container_record> rp) {
  auto key = key_of(rec.ns, rec.id);
  auto snapshot = rec.snapshot_key;
  self->request(self->state.store, caf::infinite, put_cont_atom::value, std::move(rec))
      .then(
          [self, rp, key](container_record& stored) mutable {
            self->state.creating.erase(key);
            adopt_container(self, stored);
            berth_event e;
            e.ns = stored.ns;
            e.id = stored.id;
            e.time = caf::make_timestamp();
            e.kind = event_kind::container_create;
            e.image = stored.image;
            e.runtime = stored.runtime;
            self->send(self->state.events, publish_atom::value, std::move(e));
            rp.deliver(std::move(stored));
          },
          [self, rp, key, snapshot](caf::error& err) mutable {
            self->state.creating.erase(key);
            if (!snapshot.empty())
              caf::anon_send(self->state.cfg.images, snap_remove_atom::value, snapshot);
            rp.deliver(std::move(err));
          });
}

// Namespaces come into being on first use, as in containerd.
template <class Then>
void ensure_namespace(registry_pointer self, const std::string& ns, Then then,
                      caf::typed_response_promise<container_record> rp, std::string key) {
  if (self->state.namespaces.count(ns)) {
    then();
    return;
  }
  self->request(self->state.store, caf::infinite, put_ns_atom::value, namespace_record{ns, {}, {}})
      .then(
          [self, ns, then](const namespace_record&) mutable {
            self->state.namespaces.insert(ns);
            then();
          },
          [self, ns, then, rp, key](caf::error& err) mutable {
            if (error_code(err) == errc::already_exists) {
              self->state.namespaces.insert(ns);
              then();
              return;
            }
            self->state.creating.erase(key);
            rp.deliver(std::move(err));
          });
}

// The capabilities and the devices' own rules, before anything is looked
// up on the host or prepared from an image.
caf::error check_privileges(const container_create& req) {
  const auto& o = req.options;
  try {
    container_capabilities(o.privileged, o.cap_add, o.cap_drop, own_bounding_set());
  } catch (const std::invalid_argument& e) {
    return make_error(errc::invalid_argument,
                      "invalid options for container " + req.id + ": " + e.what());
  }
  for (const auto& d : o.devices)
    if (auto why = device_mapping_problem(d))
      return make_error(errc::invalid_argument,
                        "invalid device for container " + req.ns + "/" + req.id + ": " + *why);
  return caf::none;
}

void create_container(registry_pointer self, container_create req,
                      caf::typed_response_promise<container_record> rp) {
  if (req.options.pids_limit == 0) req.options.pids_limit = self->state.cfg.default_pids_limit;
  auto rec = validate(self, req);
  if (!rec) {
    rp.deliver(rec.error());
    return;
  }
  auto key = key_of(rec->ns, rec->id);
  self->state.creating.insert(key);
  auto ns = rec->ns;
  bool from_image = rec->spec.empty();
  auto go = [self, ns, key, rp, from_image, rec = std::move(*rec), opts = req.options]() mutable {
    ensure_namespace(
        self, ns,
        [self, rec = std::move(rec), rp, from_image, opts = std::move(opts)]() mutable {
          if (!from_image) {
            store_container(self, std::move(rec), rp);
            return;
          }
          prepare_from_image(
              self, std::move(rec), std::move(opts), rp,
              [self, rp](container_record r) mutable { store_container(self, std::move(r), rp); });
        },
        rp, key);
  };
  if (from_image) {
    go();
    return;
  }
  auto is_dir = std::make_shared<bool>(false);
  auto rootfs = req.options.rootfs;
  off_scheduler(
      self,
      [is_dir, rootfs] {
        struct stat sb {};
        *is_dir = ::stat(rootfs.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
      },
      [self, is_dir, go, rp, key, ns, id = req.id, rootfs]() mutable {
        if (*is_dir) {
          go();
          return;
        }
        self->state.creating.erase(key);
        rp.deliver(rootfs_refused(ns, id, rootfs));
      });
}

}  // namespace

void adopt_container(registry_pointer self, container_record rec) {
  auto key = key_of(rec.ns, rec.id);
  auto ctx = context_for(self, rec.runtime);
  auto c = spawn_container(self->system(), std::move(rec), self->state.cfg.state_dir, ctx,
                           self->state.cfg.images);
  self->monitor(c);
  // Linked, so the registry's end (berthd stopping) ends its containers.
  self->link_to(c);
  self->state.containers[key] = c;
}

// A listing of containers (`Listing`: with or without specs), from the store;
// an empty namespace means all of them.
template <class Listing>
caf::result<std::vector<container_record>> list_in_store(registry_pointer self, Listing listing,
                                                         const std::string& ns) {
  if (!ns.empty())
    if (auto e = check_identifier("namespace", ns)) return make_error(errc::invalid_argument, *e);
  return self->delegate(self->state.store, listing, ns);
}

registry_actor::behavior_type serving(registry_pointer self) {
  self->set_default_handler(caf::print_and_drop);
  return {
      failpoint_handler(),
      [self](put_ns_atom, namespace_record& rec) -> caf::result<namespace_record> {
        if (auto e = check_identifier("namespace", rec.name))
          return make_error(errc::invalid_argument, *e);
        auto rp = self->make_response_promise<namespace_record>();
        self->request(self->state.store, caf::infinite, put_ns_atom::value, rec)
            .then(
                [self, rp](namespace_record& stored) mutable {
                  self->state.namespaces.insert(stored.name);
                  rp.deliver(std::move(stored));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](list_ns_atom) { return self->delegate(self->state.store, list_ns_atom::value); },
      [self](del_ns_atom, std::string& name) -> caf::result<namespace_record> {
        if (auto e = check_identifier("namespace", name))
          return make_error(errc::invalid_argument, *e);
        auto rp = self->make_response_promise<namespace_record>();
        self->request(self->state.store, caf::infinite, del_ns_atom::value, name)
            .then(
                [self, rp, name](namespace_record& gone) mutable {
                  self->state.namespaces.erase(name);
                  rp.deliver(std::move(gone));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](container_create& req) -> caf::result<container_record> {
        req.options.host_devices.clear();  // looked up below, never taken from a request
        req.ns = ns_or_default(req.ns);
        if (auto err = check_names(req.ns, req.id, "container id")) return err;
        if (auto err = check_privileges(req)) return err;
        auto rp = self->make_response_promise<container_record>();
        if (req.options.devices.empty()) {
          create_container(self, std::move(req), rp);
          return rp;
        }
        // The devices are stat'ed off the scheduler: a path a client names
        // may sit on a file system that hangs.
        auto found = std::make_shared<std::vector<host_device>>();
        auto refused = std::make_shared<caf::error>();
        auto devices = req.options.devices;
        auto container = req.ns + "/" + req.id;
        off_scheduler(
            self,
            [found, refused, devices, container] {
              for (const auto& d : devices) {
                auto dev = find_host_device(d, container);
                if (!dev) {
                  *refused = std::move(dev.error());
                  return;
                }
                found->push_back(std::move(*dev));
              }
            },
            [self, found, refused, req, rp, container]() mutable {
              if (*refused) {
                rp.deliver(*refused);
                return;
              }
              if (found->size() != req.options.devices.size()) {
                rp.deliver(make_error(errc::internal, "the devices of container " + container +
                                                          " could not be looked up on the host"));
                return;
              }
              req.options.host_devices = std::move(*found);
              create_container(self, std::move(req), rp);
            });
        return rp;
      },
      [self](get_cont_atom, std::string& ns, std::string& id) -> caf::result<container_record> {
        auto c = find_container(self, ns_or_default(ns), id, "container");
        if (!c) return c.error();
        return self->delegate(*c, get_cont_atom::value);
      },
      [self](list_cont_atom a, std::string& ns) { return list_in_store(self, a, ns); },
      [self](list_cont_brief_atom a, std::string& ns) { return list_in_store(self, a, ns); },
      [self](container_update& req) -> caf::result<container_record> {
        req.ns = ns_or_default(req.ns);
        auto c = find_container(self, req.ns, req.id, "container");
        if (!c) return c.error();
        return self->delegate(*c, std::move(req));
      },
      [self](del_cont_atom, std::string& ns, std::string& id) -> caf::result<container_record> {
        ns = ns_or_default(ns);
        auto c = find_container(self, ns, id, "container");
        if (!c) return c.error();
        auto rp = self->make_response_promise<container_record>();
        auto key = key_of(ns, id);
        auto handle = *c;
        self->request(handle, caf::infinite, del_cont_atom::value)
            .then(
                [self, rp, key, handle](container_record& gone) mutable {
                  auto& cs = self->state.containers;
                  if (auto it = cs.find(key); it != cs.end() && it->second == handle) cs.erase(it);
                  rp.deliver(std::move(gone));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](task_create& req) -> caf::result<task_handle> {
        req.ns = ns_or_default(req.ns);
        auto c = find_container(self, req.ns, req.id, "container");
        if (!c) return c.error();
        return self->delegate(*c, std::move(req));
      },
      [self](get_task_atom, std::string& ns, std::string& id) -> caf::result<task_handle> {
        auto c = find_container(self, ns_or_default(ns), id, "task");
        if (!c) return c.error();
        return self->delegate(*c, get_task_atom::value);
      },
      [self](list_task_atom, std::string& ns) -> caf::result<std::vector<task_info>> {
        if (!ns.empty())
          if (auto e = check_identifier("namespace", ns))
            return make_error(errc::invalid_argument, *e);
        std::vector<container_actor> targets;
        for (auto& [key, c] : self->state.containers)
          if (ns.empty() || key.compare(0, ns.size() + 1, ns + "/") == 0) targets.push_back(c);
        if (targets.empty()) return std::vector<task_info>{};
        struct gather {
          std::vector<task_info> tasks;
          size_t left;
        };
        auto g = std::make_shared<gather>(gather{{}, targets.size()});
        auto rp = self->make_response_promise<std::vector<task_info>>();
        auto one_done = [g, rp]() mutable {
          if (--g->left > 0) return;
          std::sort(g->tasks.begin(), g->tasks.end(), [](const task_info& a, const task_info& b) {
            return std::tie(a.ns, a.id) < std::tie(b.ns, b.id);
          });
          rp.deliver(std::move(g->tasks));
        };
        for (auto& c : targets) {
          self->request(c, caf::infinite, list_task_atom::value)
              .then(
                  [g, one_done](std::vector<task_info>& some) mutable {
                    for (auto& t : some) g->tasks.push_back(std::move(t));
                    one_done();
                  },
                  [one_done](caf::error&) mutable { one_done(); });
        }
        return rp;
      },
      [self](runtimes_atom) {
        std::vector<std::string> names;
        for (auto& [name, rt] : self->state.cfg.runtimes) names.push_back(name);
        return names;
      },
      // Recovery happens once, in `recovering`; asked again, the registry
      // says what that one found.
      [self](recover_all_atom) { return self->state.recovered; },
  };
}

}  // namespace berth::registry_detail

namespace berth {
namespace {

using namespace registry_detail;

// A shutdown ends the registry (and its linked containers); a container
// that ended on its own is only forgotten (the down handler).
void watch_containers(registry_pointer self) {
  // A shutdown ends the registry (and its linked containers), and so does the
  // supervisor's exit naming why it restarts the registry; a container that
  // ended on its own is only forgotten (the down handler).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::normal) return;  // a container deleted
    bool from_container = false;
    for (auto& [key, c] : self->state.containers)
      if (c.address() == msg.source) from_container = true;
    if (!from_container || msg.reason == caf::exit_reason::user_shutdown ||
        msg.reason == caf::exit_reason::kill)
      self->quit(msg.reason);
    else
      spdlog::error("a container actor failed: {}", self->system().render(msg.reason));
  });
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& cs = self->state.containers;
    for (auto it = cs.begin(); it != cs.end(); ++it) {
      if (it->second.address() == msg.source) {
        cs.erase(it);
        return;
      }
    }
  });
}

registry_actor::behavior_type registry_fun(registry_pointer self, registry_config cfg,
                                           store_actor store, events_actor events) {
  self->state.cfg = std::move(cfg);
  self->state.store = std::move(store);
  self->state.events = std::move(events);
  report_exceptions(self, "berth.registry");
  watch_containers(self);
  return recovering(self);
}

}  // namespace

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg, store_actor store,
                              events_actor events) {
  return sys.spawn(registry_fun, std::move(cfg), std::move(store), std::move(events));
}

}  // namespace berth
