#include "actors/daemon/api_transfer.hpp"

#include <unistd.h>

#include <kj/debug.h>

#include <cerrno>

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
  out.setMountedFrom(p.mounted_from);
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

transfer_progress::transfer_progress(const api_bridge& bridge,
                                     wire::api::PullProgressSink::Client sink)
    : bridge_(bridge), key_(bridge.io->new_key()) {
  forwarder_ = bridge_.sys->spawn<caf::hidden>(pull_progress_forwarder, bridge_.io, key_);
  bridge_.io->keep(key_, kj::heap<pull_progress_pump>(kj::mv(sink)));
}

transfer_progress::~transfer_progress() {
  bridge_.io->drop(key_);
  caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
}

kj::Promise<void> transfer_progress::drained() {
  return ask<bool>(bridge_, forwarder_, pull_flush_atom::value)
      .then([io = bridge_.io, key = key_](caf::expected<bool>) -> kj::Promise<void> {
        if (auto* pump = io->find<pull_progress_pump>(key)) return pump->flushed();
        return kj::READY_NOW;
      });
}

kj::Promise<std::int64_t> send_file(wire::api::ByteSink::Client sink,
                                    std::shared_ptr<images::unique_fd> file, std::int64_t offset) {
  constexpr std::size_t kChunk = 1 << 20;
  auto buf = kj::heapArray<kj::byte>(kChunk);
  ssize_t n = ::pread(file->get(), buf.begin(), kChunk, offset);
  if (n < 0) KJ_FAIL_SYSCALL("pread(exported archive)", errno);
  if (n == 0) return offset;
  auto req = sink.writeRequest();
  req.setData(buf.slice(0, static_cast<std::size_t>(n)));
  return req.send().then([sink = kj::mv(sink), file, next = offset + n](auto&&) mutable {
    return send_file(kj::mv(sink), file, next);
  });
}

}  // namespace berth
