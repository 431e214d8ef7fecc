#include "actors/images/images_actor.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>

#include "actors/blocking_work.hpp"
#include "actors/errors.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/image_config.hpp"
#include "actors/images/image_export.hpp"
#include "actors/images/image_push.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/transfer_loop.hpp"
#include "actors/images/unpacker.hpp"

namespace berth {
namespace {

using namespace images;

struct images_state {
  std::shared_ptr<content_store> content;
  std::shared_ptr<snapshotter> snaps;
  store_actor store;
  std::string root;
  image_limits limits;
  std::map<std::string, registry_host_config> registries;  // by host[:port]
  // Every pull's and push's HTTP, on one thread; the pulls and pushes
  // themselves run on workers of their own, so the actor keeps answering.
  std::shared_ptr<transfer_loop> transfers;
  // Pulls and pushes not yet ended; while there are any, garbage collection
  // waits (a pull's blobs are named only at its end), marked pending.
  int transfers_running = 0;
  bool gc_pending = false;
  static inline const char* name = "berth.images";
};

using images_pointer = images_actor::stateful_pointer<images_state>;

errc code_of(error_kind kind) {
  switch (kind) {
    case error_kind::invalid_argument:
      return errc::invalid_argument;
    case error_kind::not_found:
      return errc::not_found;
    case error_kind::already_exists:
      return errc::already_exists;
    case error_kind::failed_precondition:
      return errc::failed_precondition;
    case error_kind::internal:
      break;
  }
  return errc::internal;
}

// Runs library code; its exceptions become berth errors with their message.
template <class F>
caf::error attempt(F&& body) {
  try {
    body();
    return caf::none;
  } catch (const images_error& e) {
    return make_error(code_of(e.kind()), e.what());
  } catch (const std::exception& e) {
    return make_error(errc::internal, e.what());
  }
}

// Every blob and committed snapshot an image in `targets` needs.
struct references {
  std::set<std::string> blobs;
  std::set<std::string> chains;
};

references referenced_by(const content_store& content, const std::vector<std::string>& targets) {
  references refs;
  for (const auto& t : targets) {
    refs.blobs.insert(t);
    try {
      auto target = resolve_target(content, t);
      for (const auto& a : target.attached) {
        refs.blobs.insert(a.manifest.digest);
        for (const auto& b : a.blobs) refs.blobs.insert(b.digest);
      }
      for (const auto& img : target.manifests) {
        refs.blobs.insert(img.manifest_digest);
        refs.blobs.insert(img.config_digest);
        for (const auto& l : img.layers) refs.blobs.insert(l.digest);
        for (const auto& c : chain_ids(img.layers)) refs.chains.insert(c);
      }
    } catch (const images_error&) {
      // A target whose blobs are gone keeps what is left of it; nothing more.
    }
  }
  return refs;
}

// Removes committed snapshots nothing references, leaves first.
void collect_snapshots(snapshotter& snaps, const std::set<std::string>& chains) {
  for (bool removed = true; removed;) {
    removed = false;
    auto all = snaps.list();
    std::set<std::string> parents;
    for (const auto& s : all) parents.insert(s.parent);
    for (const auto& s : all) {
      if (s.kind != snapshot_kind::committed || chains.count(s.key) || parents.count(s.key))
        continue;
      snaps.remove(s.key);
      removed = true;
    }
  }
}

// Asks the store which manifests are still named anywhere, then drops
// everything else; `done` gets the outcome.
void collect_garbage(images_pointer self, std::function<void(caf::error)> done) {
  if (self->state.transfers_running > 0) {
    self->state.gc_pending = true;  // the last transfer to end collects
    done(caf::error{});
    return;
  }
  self->request(self->state.store, caf::infinite, img_targets_atom::value)
      .then(
          [self, done](std::vector<std::string>& targets) {
            // A pull that began while the store answered: its blobs are not
            // among the targets yet, so the collection waits for it too.
            if (self->state.transfers_running > 0) {
              self->state.gc_pending = true;
              done(caf::error{});
              return;
            }
            done(attempt([&] {
              auto refs = referenced_by(*self->state.content, targets);
              self->state.content->collect_garbage(refs.blobs);
              collect_snapshots(*self->state.snaps, refs.chains);
            }));
          },
          [done](caf::error& err) { done(std::move(err)); });
}

std::string nonce();

// A pull or push has ended (and its image, if any, is named): the garbage
// collection it held back runs now.
void transfer_ended(images_pointer self) {
  if (--self->state.transfers_running > 0 || !self->state.gc_pending) return;
  self->state.gc_pending = false;
  collect_garbage(self, [](caf::error err) {
    if (err) spdlog::warn("cannot collect unused blobs and snapshots: {}", error_message(err));
  });
}

// How a pull or push reaches `domain`: the request's transport and
// credentials, with config.toml's [registry."domain"] (CA, plain HTTP) on top.
registry_options registry_for(const images_state& st, const std::string& domain, bool plain_http,
                              const std::string& username, const std::string& password) {
  registry_options o;
  o.plain_http = plain_http;
  o.credentials = {username, password};
  o.loop = st.transfers;
  o.chunk_size = st.limits.upload_chunk_size;
  if (auto it = st.registries.find(domain); it != st.registries.end()) {
    o.ca_file = it->second.ca;
    o.plain_http = o.plain_http || it->second.plain_http;
  }
  return o;
}

// A pull's or push's per-blob reports as messages to `to` (none when null).
std::function<void(const pull_progress&)> progress_to(caf::actor to) {
  if (!to) return {};
  return [to = std::move(to)](const pull_progress& p) {
    caf::anon_send(to, img_pull_progress_atom::value, p);
  };
}

// Looks up each name's record, then writes them all as one archive in the
// ingest directory (cleaned at start, so a crash leaves nothing).
void export_records(images_pointer self, std::string ns,
                    std::shared_ptr<std::vector<std::string>> todo,
                    std::shared_ptr<std::vector<export_image>> found,
                    caf::typed_response_promise<std::string> rp) {
  if (todo->empty()) {
    std::string path = self->state.content->ingest_dir() + "/export-" + nonce() + ".tar";
    auto err = attempt([&] { export_archive(*self->state.content, *found, path); });
    if (err)
      rp.deliver(err);
    else
      rp.deliver(path);
    return;
  }
  auto name = todo->front();
  todo->erase(todo->begin());
  self->request(self->state.store, caf::infinite, get_img_atom::value, ns, name)
      .then(
          [self, ns, todo, found, rp](image_record& rec) mutable {
            found->push_back({rec.name, rec.target});
            export_records(self, ns, todo, found, rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

// Stores records one after another, then replies with all of them.
void put_records(images_pointer self, std::shared_ptr<std::vector<image_record>> todo,
                 std::shared_ptr<std::vector<image_record>> stored,
                 caf::typed_response_promise<std::vector<image_record>> rp) {
  if (todo->empty()) {
    rp.deliver(std::move(*stored));
    return;
  }
  auto next = todo->front();
  todo->erase(todo->begin());
  self->request(self->state.store, caf::infinite, put_img_atom::value, std::move(next))
      .then(
          [self, todo, stored, rp](image_record& rec) mutable {
            stored->push_back(std::move(rec));
            put_records(self, todo, stored, rp);
          },
          [self, rp](caf::error& err) mutable {
            // The blobs just imported must not outlive the failed naming.
            collect_garbage(self, [rp, err](caf::error) mutable { rp.deliver(err); });
          });
}

// Drops the image's record, then whatever it alone referenced.
void remove_image(images_pointer self, const std::string& ns, const std::string& name,
                  caf::typed_response_promise<image_record> rp) {
  self->request(self->state.store, caf::infinite, del_img_atom::value, ns, name)
      .then(
          [self, rp](image_record& removed) mutable {
            collect_garbage(self, [rp, removed](caf::error err) mutable {
              if (err)
                rp.deliver(err);
              else
                rp.deliver(removed);
            });
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

// "ns/id" of every container made from image `name` (it has a snapshot; a
// container on a rootfs of its own names an image only as a label).
std::vector<std::string> users_of(const std::vector<container_record>& containers,
                                  const std::string& name) {
  std::vector<std::string> out;
  for (const auto& c : containers)
    if (c.image == name && !c.snapshot_key.empty()) out.push_back(c.ns + "/" + c.id);
  return out;
}

std::string in_use_message(const std::string& name, const std::vector<std::string>& users) {
  std::string msg = "image " + name + " is in use by container" + (users.size() > 1 ? "s " : " ");
  for (std::size_t i = 0; i < users.size(); ++i) msg += (i ? ", " : "") + users[i];
  return msg + "; delete " + (users.size() > 1 ? "them" : "it") + " first";
}

// Container snapshots are keyed "ns/id"; those no container owns are
// removed. Unpacks in progress ("extract-…") are not container snapshots.
std::vector<std::string> remove_unowned(snapshotter& snaps, const std::vector<std::string>& owned) {
  std::set<std::string> keep(owned.begin(), owned.end());
  std::vector<std::string> removed;
  for (const auto& s : snaps.list()) {
    if (s.kind != snapshot_kind::active || keep.count(s.key) || s.key.rfind("extract-", 0) == 0 ||
        s.key.find('/') == std::string::npos)
      continue;
    try {
      snaps.remove(s.key);
      removed.push_back(s.key);
      spdlog::warn("removed snapshot {}: no container owns it", s.key);
    } catch (const std::exception& e) {
      spdlog::error("cannot remove snapshot {} that no container owns: {}", s.key, e.what());
    }
  }
  return removed;
}

// resolve_process() mounts a fresh snapshot at <root>/snapshots/resolve-*
// for a moment; a crash in that moment leaves the mount and its directory.
void remove_resolve_mounts(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::directory_iterator(root + "/snapshots", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind("resolve-", 0) != 0) continue;
    unmount_all(it->path().string());
    if (::rmdir(it->path().c_str()) != 0) throw_errno("cannot remove " + it->path().string());
    spdlog::warn("removed {}, left by a crash", it->path().string());
  }
}

std::string nonce() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// The process of `req` resolved inside the container's fresh snapshot. When
// a user must be looked up, the snapshot is mounted briefly, read-only, so
// /etc/passwd is read as the container will see it; read-only because the
// unmount of a writable overlay syncs its whole upper filesystem (about 10 ms
// on a busy disk). Root needs no lookup and no mount.
prepared_snapshot resolve_process(images_state& st, const resolved_image& img,
                                  const prepare_request& req) {
  prepared_snapshot out;
  out.snapshot_key = req.snapshot_key;
  out.mounts = st.snaps->mounts(req.snapshot_key);
  auto config = parse_image_config(st.content->read(img.config_digest),
                                   "config " + img.config_digest + " of image " + req.image);
  process_overrides o{req.args, req.env, req.cwd, req.user};
  process_params p;
  if (!needs_rootfs(config, o)) {
    p = make_process(config, o, "");
  } else {
    std::string where = st.root + "/snapshots/resolve-" + nonce();
    if (::mkdir(where.c_str(), 0700) != 0) throw_errno("cannot create " + where);
    auto readonly = out.mounts;
    for (auto& m : readonly) m.options.push_back("ro");
    try {
      mount_all(readonly, where);
      try {
        p = make_process(config, o, where);
      } catch (...) {
        unmount_all(where);
        throw;
      }
      unmount_all(where);
    } catch (...) {
      ::rmdir(where.c_str());
      throw;
    }
    ::rmdir(where.c_str());
  }
  out.args = std::move(p.args);
  out.env = std::move(p.env);
  out.cwd = std::move(p.cwd);
  out.uid = p.user.uid;
  out.gid = p.user.gid;
  out.additional_gids = std::move(p.user.additional_gids);
  out.image_labels = label_map(config.labels.begin(), config.labels.end());
  return out;
}

// Pulls on a worker of its own (the HTTP on the transfer loop), then names
// the image in the store; answers `rp` with the record.
void pull_off_thread(images_pointer self, pull_request req,
                     caf::typed_response_promise<image_record> rp) {
  pull_options o;
  o.platform = req.platform;
  o.all_platforms = req.all_platforms;
  o.parallel = self->state.limits.max_concurrent_downloads;
  auto failed = std::make_shared<caf::error>();
  *failed = attempt([&] {
    auto domain = split_reference(normalize_image_name(req.reference)).domain;
    o.registry = registry_for(self->state, domain, req.plain_http, req.username, req.password);
    if (auto it = self->state.registries.find(domain); it != self->state.registries.end())
      o.mirrors = it->second.mirrors;
  });
  if (*failed) {
    rp.deliver(*failed);
    return;
  }
  o.progress = progress_to(req.progress_to);
  auto rec = std::make_shared<image_record>();
  ++self->state.transfers_running;
  run_blocking(
      self,
      [content = self->state.content, reference = req.reference, ns = req.ns, o, rec, failed] {
        *failed = attempt([&] {
          auto img = pull_image(*content, reference, o);
          *rec = {ns, img.name, img.target.digest, img.target.media_type, img.target.total_size, {},
                  {}, {}};
        });
      },
      [self, rp, rec, failed](caf::error err) mutable {
        if (!err) err = std::move(*failed);
        if (err) {
          transfer_ended(self);
          rp.deliver(err);
          return;
        }
        self->request(self->state.store, caf::infinite, put_img_atom::value, std::move(*rec))
            .then(
                [self, rp](image_record& stored) mutable {
                  transfer_ended(self);
                  rp.deliver(std::move(stored));
                },
                [self, rp](caf::error& err) mutable {
                  transfer_ended(self);
                  // The blobs just pulled must not outlive the failed naming.
                  collect_garbage(self, [rp, err](caf::error) mutable { rp.deliver(err); });
                });
      });
}

images_actor::behavior_type images_impl(images_pointer self, images_state init) {
  self->state = std::move(init);
  report_exceptions(self, "berth.images");
  // Transfers still running when the actor ends (berthd stopping) are cut
  // short, so their workers end too.
  self->attach_functor([loop = self->state.transfers] {
    if (loop) loop->stop();
  });
  return {
      failpoint_handler(),
      [self](img_import_atom, import_request& req) -> caf::result<std::vector<image_record>> {
        auto rp = self->make_response_promise<std::vector<image_record>>();
        // The namespace first: an import into nowhere must not leave blobs.
        self->request(self->state.store, caf::infinite, get_ns_atom::value, req.ns)
            .then(
                [self, req, rp](namespace_record&) mutable {
                  auto todo = std::make_shared<std::vector<image_record>>();
                  auto err = attempt([&] {
                    import_options o;
                    o.platform = req.platform;
                    o.name = req.name;
                    o.limits = self->state.limits;
                    if (req.progress_to)
                      o.progress = [to = req.progress_to](const import_progress& p) {
                        caf::anon_send(to, img_progress_atom::value, p);
                      };
                    auto result = import_archive(*self->state.content, req.archive_path, o);
                    for (const auto& img : result.images)
                      todo->push_back({req.ns,
                                       img.name,
                                       img.image.manifest_digest,
                                       img.image.manifest_media_type,
                                       img.image.total_size,
                                       req.labels,
                                       {},
                                       {}});
                  });
                  if (err) {
                    rp.deliver(err);
                    return;
                  }
                  put_records(self, todo, std::make_shared<std::vector<image_record>>(), rp);
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](img_pull_atom, pull_request& req) -> caf::result<image_record> {
        auto rp = self->make_response_promise<image_record>();
        // The namespace first: a pull into nowhere must not leave blobs.
        self->request(self->state.store, caf::infinite, get_ns_atom::value, req.ns)
            .then([self, req, rp](namespace_record&) mutable { pull_off_thread(self, req, rp); },
                  [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](img_export_atom, std::string& ns,
             std::vector<std::string>& names) -> caf::result<std::string> {
        // Every name checked before the promise: an error returned after it would go nowhere.
        auto todo = std::make_shared<std::vector<std::string>>();
        for (const auto& n : names) {
          auto err = attempt([&] { todo->push_back(normalize_image_name(n)); });
          if (err) return err;
        }
        if (todo->empty()) return make_error(errc::invalid_argument, "no image to export");
        auto rp = self->make_response_promise<std::string>();
        export_records(self, ns, todo, std::make_shared<std::vector<export_image>>(), rp);
        return rp;
      },
      [self](img_push_atom, push_request& req) -> caf::result<std::string> {
        std::string local, domain;
        auto bad = attempt([&] {
          local = normalize_image_name(req.name);
          domain = split_reference(normalize_image_name(req.target)).domain;
        });
        if (bad) return bad;
        auto rp = self->make_response_promise<std::string>();
        self->request(self->state.store, caf::infinite, get_img_atom::value, req.ns, local)
            .then(
                [self, req, domain, rp](image_record& rec) mutable {
                  push_options o;
                  o.registry =
                      registry_for(self->state, domain, req.plain_http, req.username, req.password);
                  o.progress = progress_to(req.progress_to);
                  auto digest = std::make_shared<std::string>();
                  auto failed = std::make_shared<caf::error>();
                  ++self->state.transfers_running;
                  run_blocking(
                      self,
                      [content = self->state.content, target = rec.target, to = req.target, o,
                       digest, failed] {
                        *failed = attempt([&] { *digest = push_image(*content, target, to, o); });
                      },
                      [self, rp, digest, failed](caf::error err) mutable {
                        transfer_ended(self);
                        if (!err) err = std::move(*failed);
                        if (err)
                          rp.deliver(err);
                        else
                          rp.deliver(*digest);
                      });
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](img_list_atom, std::string& ns) -> caf::result<std::vector<image_record>> {
        return self->delegate(self->state.store, list_img_atom::value, std::move(ns));
      },
      [self](img_get_atom, std::string& ns, std::string& name) -> caf::result<image_record> {
        return self->delegate(self->state.store, get_img_atom::value, std::move(ns),
                              std::move(name));
      },
      [self](img_remove_atom, std::string& ns, std::string& name) -> caf::result<image_record> {
        auto rp = self->make_response_promise<image_record>();
        // A container made from the image runs on its committed snapshots
        // (they are the lowerdirs of its own), so it is refused, as podman
        // does. The store's container records say who uses what, so this
        // holds across a restart with nothing to rebuild. await: no other
        // message (a snapshot prepared for a new container) slips in between.
        self->request(self->state.store, caf::infinite, list_cont_atom::value, ns)
            .await(
                [self, rp, ns, name](std::vector<container_record>& containers) mutable {
                  if (auto users = users_of(containers, name); !users.empty()) {
                    rp.deliver(make_error(errc::failed_precondition, in_use_message(name, users)));
                    return;
                  }
                  remove_image(self, ns, name, rp);
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](img_tag_atom, std::string& ns, std::string& from,
             std::string& to) -> caf::result<image_record> {
        std::string name;
        if (auto err = attempt([&] { name = normalize_image_name(to); })) return err;
        auto rp = self->make_response_promise<image_record>();
        self->request(self->state.store, caf::infinite, get_img_atom::value, ns, from)
            .then(
                [self, rp, name](image_record& rec) mutable {
                  rec.name = name;
                  self->request(self->state.store, caf::infinite, put_img_atom::value, rec)
                      .then([rp](image_record& stored) mutable { rp.deliver(stored); },
                            [rp](caf::error& err) mutable { rp.deliver(err); });
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](snap_prepare_atom, prepare_request& req) -> caf::result<prepared_snapshot> {
        auto rp = self->make_response_promise<prepared_snapshot>();
        self->request(self->state.store, caf::infinite, get_img_atom::value, req.ns, req.image)
            .then(
                [self, rp, req](image_record& rec) mutable {
                  auto& st = self->state;
                  prepared_snapshot out;
                  bool created = false;
                  auto err = attempt([&] {
                    auto target = resolve_target(*st.content, rec.target);
                    const auto& img = image_for(target, host_platform());
                    auto report = prepare_container_snapshot(*st.content, *st.snaps, img,
                                                             req.snapshot_key, st.limits);
                    created = true;
                    for (const auto& w : report.warnings)
                      spdlog::warn("image {}: {}", req.image, w);
                    out = resolve_process(st, img, req);
                  });
                  if (err && created) attempt([&] { st.snaps->remove(req.snapshot_key); });
                  if (err)
                    rp.deliver(err);
                  else
                    rp.deliver(std::move(out));
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](snap_mounts_atom, std::string& key) -> caf::result<std::vector<mount_spec>> {
        std::vector<mount_spec> out;
        if (auto err = attempt([&] { out = self->state.snaps->mounts(key); })) return err;
        return out;
      },
      [self](snap_remove_atom, std::string& key) -> caf::result<std::string> {
        if (auto err = attempt([&] { self->state.snaps->remove(key); })) return err;
        return key;
      },
      [self](snap_reconcile_atom,
             std::vector<std::string>& owned) -> caf::result<std::vector<std::string>> {
        auto removed = remove_unowned(*self->state.snaps, owned);
        auto rp = self->make_response_promise<std::vector<std::string>>();
        collect_garbage(self, [rp, removed](caf::error err) mutable {
          if (err)
            spdlog::warn("cannot collect unused blobs and snapshots: {}", error_message(err));
          rp.deliver(removed);
        });
        return rp;
      },
  };
}

}  // namespace

images_actor spawn_images(caf::actor_system& sys, store_actor store, images_config config) {
  images_state st;
  try {
    st.content = std::make_shared<content_store>(config.root);
    st.snaps = make_snapshotter(config.root, config.snapshotter);
    st.content->clean_ingest();
    // An unpack cut short by a crash left an extract snapshot: it is garbage.
    for (const auto& s : st.snaps->list())
      if (s.kind == snapshot_kind::active && s.key.rfind("extract-", 0) == 0)
        st.snaps->remove(s.key);
    st.snaps->cleanup();
    remove_resolve_mounts(config.root);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open image storage under " + config.root + ": " + e.what());
  }
  st.store = std::move(store);
  st.root = config.root;
  st.limits = config.limits;
  st.registries = config.registries;
  st.transfers = std::make_shared<transfer_loop>();
  return sys.spawn<caf::detached>(images_impl, std::move(st));
}

}  // namespace berth
