// The API's image transfers (pull, push, export), between the KJ thread and
// the images actor: the progress path of a pull or push (the actor that
// carries the images actor's reports to the KJ thread, the pump that calls the
// client's PullProgressSink in order), and the sending of an exported archive
// to the client's ByteSink. Internal to the API server.
#pragma once

#include <kj/async.h>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <memory>

#include "actors/daemon/api_bridge.hpp"
#include "actors/images/image_pull.hpp"
#include "actors/images/rooted_fs.hpp"
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

// One pull's or push's progress path; `forwarder()` goes in the request.
// Going away (the last copy, once the answer is sent) stops the forwarder and
// drops the pump.
class transfer_progress {
 public:
  transfer_progress(const api_bridge& bridge, wire::api::PullProgressSink::Client sink);
  ~transfer_progress();
  transfer_progress(const transfer_progress&) = delete;
  transfer_progress& operator=(const transfer_progress&) = delete;
  const caf::actor& forwarder() const { return forwarder_; }
  // Resolves once the client has every report sent before the answer.
  kj::Promise<void> drained();

 private:
  api_bridge bridge_;
  std::uint64_t key_;
  caf::actor forwarder_;
};

// Sends `file` from `offset` to `sink`, a chunk per call, each after the last
// was taken; resolves with the bytes sent in all.
kj::Promise<std::int64_t> send_file(wire::api::ByteSink::Client sink,
                                    std::shared_ptr<images::unique_fd> file, std::int64_t offset);

}  // namespace berth
