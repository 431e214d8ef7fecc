#include "actors/daemon/api_import.hpp"

#include "actors/daemon/api_bridge.hpp"
#include "actors/errors.hpp"

namespace berth {

caf::behavior archive_keeper(caf::stateful_actor<archive_keeper_state>* self,
                             client_archive archive, images_actor images) {
  self->state.archive = std::move(archive);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.answer.pending())
      self->state.answer.deliver(cut_short("berth.images", msg.reason, nullptr));
    self->quit();
  });
  return {
      [self, images](img_import_atom, import_request& req) {
        auto rp = self->make_response_promise<std::vector<image_record>>();
        if (!images) {
          rp.deliver(make_error(errc::unavailable,
                                "berthd is starting or restarting its actors; try again"));
          self->quit();
          return rp;
        }
        self->state.answer = rp;
        self->monitor(images);
        self->request(images, caf::infinite, img_import_atom::value, std::move(req))
            .then(
                [self](std::vector<image_record>& xs) {
                  self->state.answer.deliver(std::move(xs));
                  self->quit();
                },
                [self](caf::error& err) {
                  self->state.answer.deliver(self->state.archive.as_named(std::move(err)));
                  self->quit();
                });
        return rp;
      },
  };
}

caf::behavior progress_forwarder(caf::event_based_actor* self, std::shared_ptr<io_thread> io,
                                 std::uint64_t key) {
  return {
      [io, key](img_progress_atom, images::import_progress& p) {
        io->post([io = io.get(), key, p](kj::AsyncIoContext&) {
          if (auto* pump = io->find<progress_pump>(key)) pump->deliver(p);
        });
      },
  };
}

}  // namespace berth
