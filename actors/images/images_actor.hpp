// The images actor: image import, names (through the store actor's image
// records), removal with garbage collection of blobs and snapshots, and
// container snapshots with the image's process resolved. One per daemon,
// spawned detached: import, unpack and GC block on disk I/O for seconds.
//
// Errors are berth errors (actors/errors.hpp), each naming the object:
//   invalid_argument     a bad archive (truncated, digest mismatch, missing
//                        blob, unsafe entry, unsupported media type) or name
//   not_found            no such image, snapshot, user/group in the image, or
//                        no manifest for the platform
//   already_exists       the snapshot key is taken
//   failed_precondition  a snapshot still in use
//   internal             the disk failed
#pragma once

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>

#include "actors/images/registry_client.hpp"

#include <caf/typed_actor.hpp>
#include <map>

#include <string>
#include <vector>

#include "actors/images/image_limits.hpp"
#include "actors/images/images_messages.hpp"
#include "actors/store/store_actor.hpp"
#include "actors/supervised.hpp"

namespace berth {

using images_actor = caf::typed_actor<
    // Imports an archive; one record per name, in the request's namespace.
    caf::replies_to<img_import_atom, import_request>::with<std::vector<image_record>>,
    // (ns) — "" for every namespace.
    // Pulls an image from its registry and names it; the record is the reply.
    caf::replies_to<img_pull_atom, pull_request>::with<image_record>,
    // (ns, names): writes them as one OCI layout tar in the ingest directory
    // and replies with its path; the caller streams it and removes it.
    caf::replies_to<img_export_atom, std::string, std::vector<std::string>>::with<std::string>,
    // Pushes a local image to a registry; replies with the manifest digest pushed.
    caf::replies_to<img_push_atom, push_request>::with<std::string>,
    caf::replies_to<img_list_atom, std::string>::with<std::vector<image_record>>,
    // (ns, name)
    caf::replies_to<img_get_atom, std::string, std::string>::with<image_record>,
    // (ns, name): drops the name, then collects blobs and committed snapshots
    // no image in any namespace uses. Replies with the record removed;
    // failed_precondition ("image … is in use by container ns/id") while a
    // container made from it exists.
    caf::replies_to<img_remove_atom, std::string, std::string>::with<image_record>,
    // (ns, existing name, new name): a second name for the same manifest.
    caf::replies_to<img_tag_atom, std::string, std::string, std::string>::with<image_record>,
    // Unpacks the image if needed, prepares an active snapshot and resolves
    // the process; a failure leaves no snapshot behind.
    caf::replies_to<snap_prepare_atom, prepare_request>::with<prepared_snapshot>,
    // (key): the mounts of an existing active snapshot (after a restart).
    caf::replies_to<snap_mounts_atom, std::string>::with<std::vector<images::mount_spec>>,
    // (key): removes a container's snapshot; replies with the key.
    caf::replies_to<snap_remove_atom, std::string>::with<std::string>,
    // (keys of every container's snapshot): at berthd's start, removes the
    // container snapshots ("ns/id") no container owns any more (a crash
    // between deleting a container's record and its snapshot), then what no
    // image references. Replies with the keys removed.
    caf::replies_to<snap_reconcile_atom, std::vector<std::string>>::with<std::vector<std::string>>,
    failpoint_message>;

struct images_config {
  std::string root;                  // berth's --root: content/ and snapshots/ live here
  std::string snapshotter = "auto";  // "overlay", "copy" or "auto"
  images::image_limits limits;       // what one untrusted image may cost
  // [registry."host:port"] of config.toml: CA, plain HTTP, mirrors.
  std::map<std::string, images::registry_host_config> registries;
};

// Opens the content store and snapshotter on the calling thread (so a bad
// root fails at once with std::runtime_error naming it), cleans leftovers of
// a crash (ingest files, unreferenced snapshot dirs, the temporary mounts
// that resolve a container's user), then spawns detached.
images_actor spawn_images(caf::actor_system& sys, store_actor store, images_config config);

}  // namespace berth
