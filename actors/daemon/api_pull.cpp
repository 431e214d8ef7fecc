#include "actors/daemon/api_pull.hpp"

#include "actors/images/images_messages.hpp"

namespace berth {

void pull_progress_pump::deliver(const images::pull_progress& p) {
  auto req = sink_.progressRequest();
  auto out = req.initProgress();
  out.setDigest(p.digest);
  out.setBytesDone(p.bytes_done);
  out.setBytesTotal(p.bytes_total);
  out.setCached(p.cached);
  out.setDone(p.done);
  // A client that stops listening only loses its progress report.
  chain_ = chain_.then([req = kj::mv(req)]() mutable { return req.send().ignoreResult(); })
               .catch_([](kj::Exception&&) {})
               .eagerlyEvaluate(nullptr);
}

caf::behavior pull_progress_forwarder(caf::event_based_actor*, std::shared_ptr<io_thread> io,
                                      std::uint64_t key) {
  return {
      [io, key](img_pull_progress_atom, images::pull_progress& p) {
        io->post([io = io.get(), key, p](kj::AsyncIoContext&) {
          if (auto* pump = io->find<pull_progress_pump>(key)) pump->deliver(p);
        });
      },
      [](pull_flush_atom) { return true; },
  };
}

}  // namespace berth
