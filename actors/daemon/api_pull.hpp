// The API's image pulls, between the KJ thread and the images actor: the
// pump that calls the client's PullProgressSink in order, and the actor that
// carries the images actor's progress reports to it. Internal to the API server.
#pragma once

#include <kj/async.h>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <memory>

#include "actors/images/image_pull.hpp"
#include "actors/runtime/io_thread.hpp"
#include "schema/api.capnp.h"

namespace berth {

// Asked of the forwarder once the pull is answered: its reply comes after
// every report the images actor sent before answering.
using pull_flush_atom = caf::atom_constant<caf::atom("pullFlush")>;

class pull_progress_pump final : public io_thread::resource {
 public:
  explicit pull_progress_pump(wire::api::PullProgressSink::Client sink) : sink_(kj::mv(sink)) {}
  void deliver(const images::pull_progress& p);
  // Resolves when every report delivered so far has reached the client.
  kj::Promise<void> flushed() {
    auto all = chain_.fork();
    chain_ = all.addBranch();
    return all.addBranch();
  }

 private:
  wire::api::PullProgressSink::Client sink_;
  kj::Promise<void> chain_ = kj::READY_NOW;
};

// Receives (img_pull_progress_atom, pull_progress) and posts it to the pump
// under `key`; answers pull_flush_atom with true after the reports before it.
caf::behavior pull_progress_forwarder(caf::event_based_actor* self, std::shared_ptr<io_thread> io,
                                      std::uint64_t key);

}  // namespace berth
