// The store actor: the one actor through which every metadata write goes.
// It owns <root>/meta.db (SQLite, WAL, synchronous=FULL) and answers each
// request only after its transaction committed, so an acknowledged write
// survives a kill -9 of berthd.
//
// Errors: a failed request is answered with a caf::error of the "berth"
// category (see actors/errors.hpp): error_code() gives the errc
// (not_found, already_exists, failed_precondition, invalid_argument,
// unavailable, internal), error_message() a message naming the object.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <caf/message_handler.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/store/records.hpp"
#include "actors/supervised.hpp"

namespace berth {

// Namespaces: put creates (already_exists if taken); delete needs it empty.
using put_ns_atom = caf::atom_constant<caf::atom("putNs")>;
using get_ns_atom = caf::atom_constant<caf::atom("getNs")>;
using list_ns_atom = caf::atom_constant<caf::atom("listNs")>;
using del_ns_atom = caf::atom_constant<caf::atom("delNs")>;
// Containers: put inserts or updates; the namespace must exist.
using put_cont_atom = caf::atom_constant<caf::atom("putCont")>;
using get_cont_atom = caf::atom_constant<caf::atom("getCont")>;
using list_cont_atom = caf::atom_constant<caf::atom("listCont")>;
// The same list with each record's spec left empty: what a listing shows,
// without the 17 KB or so of OCI spec each container holds.
using list_cont_brief_atom = caf::atom_constant<caf::atom("listContB")>;
using del_cont_atom = caf::atom_constant<caf::atom("delCont")>;
// Tasks: put inserts or updates; the container must exist.
using put_task_atom = caf::atom_constant<caf::atom("putTask")>;
using get_task_atom = caf::atom_constant<caf::atom("getTask")>;
using list_task_atom = caf::atom_constant<caf::atom("listTask")>;
using del_task_atom = caf::atom_constant<caf::atom("delTask")>;
using task_exit_atom = caf::atom_constant<caf::atom("taskExit")>;
using ack_event_atom = caf::atom_constant<caf::atom("ackEvent")>;
// Images: put inserts or moves a name to a new target; the namespace must exist.
using put_img_atom = caf::atom_constant<caf::atom("putImg")>;
using get_img_atom = caf::atom_constant<caf::atom("getImg")>;
using list_img_atom = caf::atom_constant<caf::atom("listImg")>;
using del_img_atom = caf::atom_constant<caf::atom("delImg")>;
// Every manifest digest still named by an image in any namespace (for GC).
using img_targets_atom = caf::atom_constant<caf::atom("imgTargets")>;

// Arguments after the atom: (ns) or (ns, id) — for images (ns, name) — as std::string; a list's
// namespace may be "" for every namespace. put and get reply with the stored
// record (timestamps filled in by the store), delete with the record removed.
using store_actor = caf::typed_actor<
    caf::replies_to<put_ns_atom, namespace_record>::with<namespace_record>,
    caf::replies_to<get_ns_atom, std::string>::with<namespace_record>,
    caf::replies_to<list_ns_atom>::with<std::vector<namespace_record>>,
    caf::replies_to<del_ns_atom, std::string>::with<namespace_record>,
    caf::replies_to<put_cont_atom, container_record>::with<container_record>,
    caf::replies_to<get_cont_atom, std::string, std::string>::with<container_record>,
    caf::replies_to<list_cont_atom, std::string>::with<std::vector<container_record>>,
    caf::replies_to<list_cont_brief_atom, std::string>::with<std::vector<container_record>>,
    caf::replies_to<del_cont_atom, std::string, std::string>::with<container_record>,
    caf::replies_to<put_task_atom, task_record>::with<task_record>,
    caf::replies_to<get_task_atom, std::string, std::string>::with<task_record>,
    caf::replies_to<list_task_atom, std::string>::with<std::vector<task_record>>,
    caf::replies_to<del_task_atom, std::string, std::string>::with<task_record>,
    // Records the exit, sets status stopped, replies with the updated task.
    caf::replies_to<task_exit_atom, std::string, std::string, task_exit>::with<task_record>,
    // Raises last_acked_event to seq (never lowers it); replies with the mark.
    caf::replies_to<ack_event_atom, std::string, std::string, std::uint64_t>::with<std::uint64_t>,
    caf::replies_to<put_img_atom, image_record>::with<image_record>,
    caf::replies_to<get_img_atom, std::string, std::string>::with<image_record>,
    caf::replies_to<list_img_atom, std::string>::with<std::vector<image_record>>,
    caf::replies_to<del_img_atom, std::string, std::string>::with<image_record>,
    caf::replies_to<img_targets_atom>::with<std::vector<std::string>>, failpoint_message>;

class metadata_store;

// What the owner of the event log (actors/daemon/events.cpp) hooks into a
// store that runs inside its actor. Both run on the store's thread.
struct store_event_hooks {
  // Events accepted but not appended yet: a taskExit appends them first, in
  // its own transaction, so they keep their place before the exit.
  std::function<std::vector<event_record>()> take_pending;
  // Events just committed, numbered, in order (a taskExit's exit event).
  std::function<void(std::vector<event_record>&)> committed;
};

// Opens or creates <root_dir>/meta.db (and root_dir) on the calling thread.
// Throws std::runtime_error ("cannot open metadata store <root_dir>/meta.db:
// <why>") when it cannot.
std::shared_ptr<metadata_store> open_store(const std::string& root_dir);

// The handlers of every store_actor message over `db`, for an actor that
// serves more than the store (the events actor: one mailbox for a task's
// events and its exit keeps them in order).
caf::message_handler store_handlers(std::shared_ptr<metadata_store> db, store_event_hooks hooks);

// Opens or creates <root_dir>/meta.db (creating root_dir) on the calling
// thread, then spawns the store detached: SQLite blocks on fsync, which must
// not stall CAF's scheduler threads. Throws std::runtime_error
// ("cannot open metadata store <root_dir>/meta.db: <why>") when it cannot.
store_actor spawn_store(caf::actor_system& sys, std::string root_dir);

}  // namespace berth
