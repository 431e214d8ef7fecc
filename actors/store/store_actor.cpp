#include "actors/store/store_actor.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <utility>

#include "actors/store/metadata_store.hpp"

namespace berth {
namespace {

struct store_state {
  std::shared_ptr<metadata_store> db;
  static inline const char* name = "berth.store";
};

using store_pointer = store_actor::stateful_pointer<store_state>;

// Each handler runs one committed transaction; returning its result is the
// acknowledgement, so nothing is answered before it is on disk.
store_actor::behavior_type store_impl(store_pointer self, std::shared_ptr<metadata_store> db) {
  self->state.db = std::move(db);
  report_exceptions(self, "berth.store");
  return {
      failpoint_handler(),
      [self](put_ns_atom, namespace_record& rec) -> caf::result<namespace_record> {
        return self->state.db->put_namespace(std::move(rec));
      },
      [self](get_ns_atom, const std::string& name) -> caf::result<namespace_record> {
        return self->state.db->get_namespace(name);
      },
      [self](list_ns_atom) -> caf::result<std::vector<namespace_record>> {
        return self->state.db->list_namespaces();
      },
      [self](del_ns_atom, const std::string& name) -> caf::result<namespace_record> {
        return self->state.db->delete_namespace(name);
      },
      [self](put_cont_atom, container_record& rec) -> caf::result<container_record> {
        return self->state.db->put_container(std::move(rec));
      },
      [self](get_cont_atom, const std::string& ns, const std::string& id)
          -> caf::result<container_record> { return self->state.db->get_container(ns, id); },
      [self](list_cont_atom, const std::string& ns) -> caf::result<std::vector<container_record>> {
        return self->state.db->list_containers(ns);
      },
      [self](del_cont_atom, const std::string& ns, const std::string& id)
          -> caf::result<container_record> { return self->state.db->delete_container(ns, id); },
      [self](put_task_atom, task_record& rec) -> caf::result<task_record> {
        return self->state.db->put_task(std::move(rec));
      },
      [self](get_task_atom, const std::string& ns, const std::string& id)
          -> caf::result<task_record> { return self->state.db->get_task(ns, id); },
      [self](list_task_atom, const std::string& ns) -> caf::result<std::vector<task_record>> {
        return self->state.db->list_tasks(ns);
      },
      [self](del_task_atom, const std::string& ns, const std::string& id)
          -> caf::result<task_record> { return self->state.db->delete_task(ns, id); },
      [self](task_exit_atom, const std::string& ns, const std::string& id, const task_exit& exit)
          -> caf::result<task_record> { return self->state.db->set_task_exit(ns, id, exit); },
      [self](ack_event_atom, const std::string& ns, const std::string& id,
             std::uint64_t seq) -> caf::result<std::uint64_t> {
        return self->state.db->set_last_acked_event(ns, id, seq);
      },
      [self](put_img_atom, image_record& rec) -> caf::result<image_record> {
        return self->state.db->put_image(std::move(rec));
      },
      [self](get_img_atom, const std::string& ns, const std::string& name)
          -> caf::result<image_record> { return self->state.db->get_image(ns, name); },
      [self](list_img_atom, const std::string& ns) -> caf::result<std::vector<image_record>> {
        return self->state.db->list_images(ns);
      },
      [self](del_img_atom, const std::string& ns, const std::string& name)
          -> caf::result<image_record> { return self->state.db->delete_image(ns, name); },
      [self](img_targets_atom) -> caf::result<std::vector<std::string>> {
        return self->state.db->image_targets();
      },
  };
}

}  // namespace

store_actor spawn_store(caf::actor_system& sys, std::string root_dir) {
  // Opened here, not in the actor, so a bad root fails the caller at once.
  std::shared_ptr<metadata_store> db = metadata_store::open(root_dir);
  return sys.spawn<caf::detached>(store_impl, std::move(db));
}

}  // namespace berth
