#include "actors/daemon/api_import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "actors/daemon/api_bridge.hpp"
#include "actors/daemon/node_messages.hpp"
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

namespace {

constexpr std::size_t kUploadChunk = 1 << 20;

using uploader_self = caf::stateful_actor<archive_uploader_state>;

void finish_upload(uploader_self* self, caf::expected<std::vector<image_record>> result) {
  if (result)
    self->state.answer.deliver(std::move(*result));
  else
    self->state.answer.deliver(self->state.archive.as_named(std::move(result.error())));
  self->quit();
}

// Sends the next chunk, or, at the end of the file, the import itself.
void send_next(uploader_self* self, import_request req) {
  auto& st = self->state;
  std::string chunk(kUploadChunk, '\0');
  ssize_t n = ::pread(st.fd.get(), chunk.data(), chunk.size(), st.sent);
  if (n < 0) {
    finish_upload(self, make_error(errc::internal, "cannot read the archive " + st.archive.named() +
                                                       ": " + std::strerror(errno)));
    return;
  }
  if (n == 0) {
    self->request(st.receiver, caf::infinite, img_import_atom::value, std::move(req),
                  st.archive.named())
        .then([self](std::vector<image_record>& xs) { finish_upload(self, std::move(xs)); },
              [self](caf::error& err) { finish_upload(self, std::move(err)); });
    return;
  }
  chunk.resize(static_cast<std::size_t>(n));
  st.sent += n;
  self->request(st.receiver, caf::infinite, archive_chunk_atom::value, std::move(chunk))
      .then([self, req = std::move(req)](bool) mutable { send_next(self, std::move(req)); },
            [self](caf::error& err) { finish_upload(self, std::move(err)); });
}

}  // namespace

caf::behavior archive_uploader(uploader_self* self, client_archive archive, caf::actor node) {
  self->state.archive = std::move(archive);
  // The receiver (or its node) went away mid-way: the import cannot finish.
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.answer.pending())
      self->state.answer.deliver(make_error(
          errc::unavailable, "the node receiving the archive " + self->state.archive.named() +
                                 " went away: " + caf::to_string(msg.reason)));
    self->quit();
  });
  return {
      [self, node](img_import_atom, import_request& req) {
        auto rp = self->make_response_promise<std::vector<image_record>>();
        self->state.answer = rp;
        int fd = ::open(self->state.archive.path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
          finish_upload(self, make_error(errc::invalid_argument, "cannot open the archive " +
                                                                     self->state.archive.named() +
                                                                     ": " + std::strerror(errno)));
          return rp;
        }
        self->state.fd = images::unique_fd(fd);
        self->request(caf::actor_cast<node_actor>(node), std::chrono::seconds(30),
                      node_receive_archive_atom::value)
            .then(
                [self, req = std::move(req)](caf::actor& receiver) mutable {
                  self->state.receiver = receiver;
                  self->monitor(receiver);
                  send_next(self, std::move(req));
                },
                [self](caf::error& err) { finish_upload(self, std::move(err)); });
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
