#include "actors/store/store_actor.hpp"

#include <caf/event_based_actor.hpp>

#include <memory>
#include <utility>

#include "actors/store/metadata_store.hpp"

namespace berth {

std::shared_ptr<metadata_store> open_store(const std::string& root_dir) {
  return metadata_store::open(root_dir);
}

// Each handler runs one committed transaction; returning its result is the
// acknowledgement, so nothing is answered before it is on disk.
caf::message_handler store_handlers(std::shared_ptr<metadata_store> db, store_event_hooks hooks) {
  return {
      [db](put_ns_atom, namespace_record& rec) -> caf::result<namespace_record> {
        return db->put_namespace(std::move(rec));
      },
      [db](get_ns_atom, const std::string& name) -> caf::result<namespace_record> {
        return db->get_namespace(name);
      },
      [db](list_ns_atom) -> caf::result<std::vector<namespace_record>> {
        return db->list_namespaces();
      },
      [db](del_ns_atom, const std::string& name) -> caf::result<namespace_record> {
        return db->delete_namespace(name);
      },
      [db](put_cont_atom, container_record& rec) -> caf::result<container_record> {
        return db->put_container(std::move(rec));
      },
      [db](get_cont_atom, const std::string& ns, const std::string& id)
          -> caf::result<container_record> { return db->get_container(ns, id); },
      [db](list_cont_atom, const std::string& ns) -> caf::result<std::vector<container_record>> {
        return db->list_containers(ns);
      },
      [db](list_cont_brief_atom, const std::string& ns)
          -> caf::result<std::vector<container_record>> { return db->list_containers(ns, false); },
      [db](del_cont_atom, const std::string& ns, const std::string& id)
          -> caf::result<container_record> { return db->delete_container(ns, id); },
      [db](put_task_atom, task_record& rec) -> caf::result<task_record> {
        return db->put_task(std::move(rec));
      },
      [db](get_task_atom, const std::string& ns,
           const std::string& id) -> caf::result<task_record> { return db->get_task(ns, id); },
      [db](list_task_atom, const std::string& ns) -> caf::result<std::vector<task_record>> {
        return db->list_tasks(ns);
      },
      [db](del_task_atom, const std::string& ns,
           const std::string& id) -> caf::result<task_record> { return db->delete_task(ns, id); },
      [db, hooks](task_exit_atom, const std::string& ns, const std::string& id,
                  const task_exit& exit) -> caf::result<task_record> {
        std::vector<event_record> batch;
        if (hooks.take_pending) batch = hooks.take_pending();
        auto pending = batch.size();
        auto rec = db->set_task_exit(ns, id, exit, batch);
        if (!rec && pending > 0) {
          // The exit failed; the events before it still get their numbers.
          batch.resize(pending);
          for (auto& e : batch) e.seq = 0;
          if (!db->append_events(batch) && hooks.committed) hooks.committed(batch);
          return rec;
        }
        if (rec && hooks.committed) hooks.committed(batch);
        return rec;
      },
      [db](ack_event_atom, const std::string& ns, const std::string& id, std::uint64_t seq)
          -> caf::result<std::uint64_t> { return db->set_last_acked_event(ns, id, seq); },
      [db](put_img_atom, image_record& rec) -> caf::result<image_record> {
        return db->put_image(std::move(rec));
      },
      [db](get_img_atom, const std::string& ns, const std::string& name)
          -> caf::result<image_record> { return db->get_image(ns, name); },
      [db](list_img_atom, const std::string& ns) -> caf::result<std::vector<image_record>> {
        return db->list_images(ns);
      },
      [db](del_img_atom, const std::string& ns, const std::string& name)
          -> caf::result<image_record> { return db->delete_image(ns, name); },
      [db](img_targets_atom) -> caf::result<std::vector<std::string>> {
        return db->image_targets();
      },
  };
}

store_actor spawn_store(caf::actor_system& sys, std::string root_dir) {
  // Opened here, not in the actor, so a bad root fails the caller at once.
  auto db = open_store(root_dir);
  auto impl = [](caf::event_based_actor*, std::shared_ptr<metadata_store> db) -> caf::behavior {
    return store_handlers(std::move(db), {}).or_else(caf::message_handler{failpoint_handler()});
  };
  return caf::actor_cast<store_actor>(sys.spawn<caf::detached>(impl, std::move(db)));
}

}  // namespace berth
