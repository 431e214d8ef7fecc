// The API's image imports, between the KJ thread and the images actor: the
// keeper that holds a client's archive until the import is answered, and the
// progress pump and forwarder that carry progress to the client's sink.
// Internal to the API server.
#pragma once

#include <kj/async.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "actors/daemon/client_paths.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/images/rooted_fs.hpp"
#include "actors/runtime/io_thread.hpp"
#include "schema/api.capnp.h"

namespace berth {

struct archive_keeper_state {
  client_archive archive;
  caf::typed_response_promise<std::vector<image_record>> answer;
  static inline const char* name = "berth.archive_keeper";
};

// Holds the archive a client opened (client_paths.hpp) until the images
// actor has answered its import, whether or not the client still waits:
// the images actor reads the file through its /proc/self/fd path, and a
// descriptor closed early could by then be another file's. It answers for
// the images actor, which CAF 0.17 would not do if that actor failed with
// the request (the bridge watches only the keeper).
caf::behavior archive_keeper(caf::stateful_actor<archive_keeper_state>* self,
                             client_archive archive, images_actor images);

struct archive_uploader_state {
  client_archive archive;
  // The archive, opened for reading by the import (archive.path(): a root
  // client's archive holds only its name); closed with the state.
  images::unique_fd fd;
  caf::actor receiver;
  std::int64_t sent = 0;
  caf::typed_response_promise<std::vector<image_record>> answer;
  static inline const char* name = "berth.archive_uploader";
};

// For an import on another node (`berth --node b i import FILE` through this
// one): sends the client's archive to a receiver there
// (actors/node/archive_receiver.hpp), a chunk at a time, each once the last
// was written, then has it imported there. Answers import as the keeper does.
caf::behavior archive_uploader(caf::stateful_actor<archive_uploader_state>* self,
                               client_archive archive, caf::actor node);

// The KJ side of one import's progress: calls the client's sink in order.
class progress_pump final : public io_thread::resource {
 public:
  explicit progress_pump(wire::api::ImportProgressSink::Client sink) : sink_(kj::mv(sink)) {}
  void deliver(const images::import_progress& p) {
    auto req = sink_.progressRequest();
    auto out = req.initProgress();
    out.setBytesDone(p.bytes_done);
    out.setBytesTotal(p.bytes_total);
    out.setLayersDone(static_cast<std::uint32_t>(p.layers_done));
    out.setLayersTotal(static_cast<std::uint32_t>(p.layers_total));
    // A client that stops listening only loses its progress report.
    chain_ = chain_.then([req = kj::mv(req)]() mutable { return req.send().ignoreResult(); })
                 .catch_([](kj::Exception&&) {})
                 .eagerlyEvaluate(nullptr);
  }

 private:
  wire::api::ImportProgressSink::Client sink_;
  kj::Promise<void> chain_ = kj::READY_NOW;
};

// Receives the images actor's progress and posts it to the pump under `key`.
caf::behavior progress_forwarder(caf::event_based_actor* self, std::shared_ptr<io_thread> io,
                                 std::uint64_t key);

}  // namespace berth
