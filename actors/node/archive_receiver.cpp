#include "actors/node/archive_receiver.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "actors/daemon/node_messages.hpp"
#include "actors/errors.hpp"
#include "actors/images/image_limits.hpp"

namespace berth {
namespace {

struct receiver_state {
  std::string path;
  int fd = -1;
  std::int64_t written = 0;
  static inline const char* name = "berth.archive_receiver";
};

using receiver_self = caf::stateful_actor<receiver_state>;

caf::error failed(receiver_self* self, const std::string& what) {
  return make_error(errc::internal, "cannot receive the archive in " + self->state.path + ": " +
                                        what + ": " + std::strerror(errno));
}

caf::behavior receiver(receiver_self* self, std::string path, int fd, std::int64_t reserve,
                       images_actor images) {
  self->state.path = std::move(path);
  self->state.fd = fd;
  self->attach_functor([path = self->state.path, fd] {
    ::close(fd);
    ::unlink(path.c_str());
  });
  return {
      [self, reserve](archive_chunk_atom, const std::string& data) -> caf::result<bool> {
        auto& st = self->state;
        std::int64_t free = 0;
        try {
          free = images::free_bytes(st.path);
        } catch (const std::exception& e) {
          self->quit();
          return make_error(errc::internal, e.what());
        }
        auto size = static_cast<std::int64_t>(data.size());
        if (free - size < reserve) {
          self->quit();
          return make_error(errc::failed_precondition,
                            "not enough space for the archive on this node: " +
                                images::format_bytes(st.written + size) + " received, " +
                                images::format_bytes(free) + " free, and " +
                                images::format_bytes(reserve) +
                                " must stay free ([images] free_space_reserve)");
        }
        std::size_t done = 0;
        while (done < data.size()) {
          ssize_t n = ::write(st.fd, data.data() + done, data.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            auto why = failed(self, "write");
            self->quit();
            return why;
          }
          done += static_cast<std::size_t>(n);
        }
        st.written += size;
        return true;
      },
      [self, images](img_import_atom, import_request& req,
                     const std::string& named) -> caf::result<std::vector<image_record>> {
        auto rp = self->make_response_promise<std::vector<image_record>>();
        req.archive_path = self->state.path;
        self->request(images, caf::infinite, img_import_atom::value, std::move(req))
            .then(
                [self, rp](std::vector<image_record>& xs) mutable {
                  rp.deliver(std::move(xs));
                  self->quit();
                },
                [self, rp, named](caf::error& err) mutable {
                  rp.deliver(with_name_replaced(err, self->state.path, named));
                  self->quit();
                });
        return rp;
      },
      caf::after(std::chrono::minutes(1)) >> [self] { self->quit(); },
  };
}

}  // namespace

caf::expected<caf::actor> spawn_archive_receiver(caf::actor_system& sys, const std::string& dir,
                                                 std::int64_t free_space_reserve,
                                                 images_actor images) {
  if (!images)
    return make_error(errc::unavailable, "berthd is starting or restarting its actors; try again");
  std::string path = dir + "/archive-XXXXXX";
  int fd = ::mkostemp(path.data(), O_CLOEXEC);  // 0600
  if (fd < 0)
    return make_error(errc::internal, "cannot create a file in " + dir +
                                          " for the archive: " + std::strerror(errno));
  // Detached: its writes block on the disk, not on a scheduler thread.
  return sys.spawn<caf::detached>(receiver, std::move(path), fd, free_space_reserve,
                                  std::move(images));
}

}  // namespace berth
