// The images actor's message types: requests and replies as plain structs
// with CAF `inspect`, so they can also cross a process boundary.
// add_images_types() announces them (and the store's records).
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/images/archive_import.hpp"
#include "actors/images/image_pull.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/store/records.hpp"

namespace berth {

using img_import_atom = caf::atom_constant<caf::atom("imgImport")>;
using img_list_atom = caf::atom_constant<caf::atom("imgList")>;
using img_get_atom = caf::atom_constant<caf::atom("imgGet")>;
using img_remove_atom = caf::atom_constant<caf::atom("imgRemove")>;
using img_tag_atom = caf::atom_constant<caf::atom("imgTag")>;
using img_progress_atom = caf::atom_constant<caf::atom("imgProg")>;
using img_pull_atom = caf::atom_constant<caf::atom("imgPull")>;
using img_pull_progress_atom = caf::atom_constant<caf::atom("imgPullP")>;
using img_export_atom = caf::atom_constant<caf::atom("imgExport")>;
using img_push_atom = caf::atom_constant<caf::atom("imgPush")>;
using snap_prepare_atom = caf::atom_constant<caf::atom("snapPrep")>;
using snap_mounts_atom = caf::atom_constant<caf::atom("snapMounts")>;
using snap_remove_atom = caf::atom_constant<caf::atom("snapRemove")>;
using snap_reconcile_atom = caf::atom_constant<caf::atom("snapRecon")>;

struct import_request {
  std::string ns;
  std::string archive_path;  // a tar the daemon can read
  std::string platform = "linux/amd64";
  std::string name;  // replaces the archive's names (one image only)
  label_map labels;  // put on every image record created
  // Receives (img_progress_atom, images::import_progress) while it runs; may be null.
  caf::actor progress_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, import_request& x) {
  return f(caf::meta::type_name("berth.import_request"), x.ns, x.archive_path, x.platform, x.name,
           x.labels, x.progress_to);
}

// A pull from a registry: the image `reference` (normalised by the actor) for
// `platform`, with the registry's transport and credentials.
struct pull_request {
  std::string ns;
  std::string reference;
  std::string platform = "linux/amd64";
  bool all_platforms = false;  // every platform's manifest; the index named
  bool plain_http = false;
  std::string username;  // empty: anonymous
  std::string password;
  // Receives (img_pull_progress_atom, images::pull_progress) per blob; may be null.
  caf::actor progress_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pull_request& x) {
  return f(caf::meta::type_name("berth.pull_request"), x.ns, x.reference, x.platform,
           x.all_platforms, x.plain_http, x.username, x.password, x.progress_to);
}

// A push to a registry: the local image `name` to `target` (a tagged reference).
struct push_request {
  std::string ns;
  std::string name;
  std::string target;
  bool plain_http = false;
  std::string username;
  std::string password;
  caf::actor progress_to;  // (img_pull_progress_atom, images::pull_progress) per blob
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, push_request& x) {
  return f(caf::meta::type_name("berth.push_request"), x.ns, x.name, x.target, x.plain_http,
           x.username, x.password, x.progress_to);
}

// A container's snapshot on top of an image, plus the image's process
// resolved against its root filesystem (the lead's oci_spec input).
struct prepare_request {
  std::string ns;
  std::string image;              // name as stored (normalised)
  std::string snapshot_key;       // e.g. "<ns>/<container id>"
  std::vector<std::string> args;  // replace the image's cmd when not empty
  std::vector<std::string> env;   // "K=V", override the image's
  std::string cwd;
  std::string user;  // "", "name", "uid[:gid]", "name:group"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepare_request& x) {
  return f(caf::meta::type_name("berth.prepare_request"), x.ns, x.image, x.snapshot_key, x.args,
           x.env, x.cwd, x.user);
}

struct prepared_snapshot {
  std::string snapshot_key;
  std::vector<images::mount_spec> mounts;  // mount in order at the rootfs
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  label_map image_labels;  // the image config's Labels
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepared_snapshot& x) {
  return f(caf::meta::type_name("berth.prepared_snapshot"), x.snapshot_key, x.mounts, x.args, x.env,
           x.cwd, x.uid, x.gid, x.additional_gids, x.image_labels);
}

// Announces the types above, images::mount_spec, import_progress and pull_progress. The
// store's records (image_record) come from add_store_types(), also needed.
void add_images_types(caf::actor_system_config& cfg);

}  // namespace berth

namespace berth::images {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mount_spec& x) {
  return f(caf::meta::type_name("berth.images.mount_spec"), x.type, x.source, x.options);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, import_progress& x) {
  return f(caf::meta::type_name("berth.import_progress"), x.bytes_done, x.bytes_total,
           x.layers_done, x.layers_total);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pull_progress& x) {
  return f(caf::meta::type_name("berth.pull_progress"), x.digest, x.bytes_done, x.bytes_total,
           x.cached, x.done, x.mounted_from);
}

}  // namespace berth::images
