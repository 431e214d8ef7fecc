#include "actors/runtime/io_thread.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <kj/async-unix.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <exception>
#include <system_error>

namespace berth {

io_thread::io_thread() {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  std::promise<void> ready;
  auto started = ready.get_future();
  try {
    thread_ = std::thread([this, &ready] { run(&ready); });
  } catch (...) {
    close(event_fd_);
    throw;
  }
  // Setting up the loop can fail (out of fds); the failure surfaces here.
  try {
    started.get();
  } catch (...) {
    thread_.join();
    close(event_fd_);
    throw;
  }
}

io_thread::~io_thread() {
  // Joining ourselves cannot work; this means an actor's last reference to
  // the io_thread died on it. The owner (berthd's main) must hold one.
  if (on_io_thread()) {
    spdlog::critical("io thread: destroyed from its own thread; the owner must outlive its users");
    std::terminate();
  }
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  std::uint64_t one = 1;
  (void)!write(event_fd_, &one, sizeof one);
  thread_.join();
  close(event_fd_);
}

bool io_thread::post(job j) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(j));
  }
  // eventfd adds to a counter, so a write never blocks and never fails short
  // of the counter overflowing, which 2^64 posts will not reach.
  std::uint64_t one = 1;
  (void)!write(event_fd_, &one, sizeof one);
  return true;
}

void io_thread::keep(std::uint64_t key, kj::Own<resource> r) {
  resources_[key] = kj::mv(r);
}

void io_thread::drop(std::uint64_t key) {
  auto it = resources_.find(key);
  if (it == resources_.end()) return;
  // Erased before it is destroyed: its destructor may post or look itself up.
  auto doomed = kj::mv(it->second);
  resources_.erase(it);
}

bool io_thread::drain(kj::AsyncIoContext& io) {
  // The observer is edge-triggered: the counter must be read to EAGAIN before
  // waiting again, and the queue taken after the read, so a post racing with
  // us is either in this batch or wakes the next wait.
  std::uint64_t count;
  while (read(event_fd_, &count, sizeof count) > 0) {
  }
  std::vector<job> batch;
  bool stopping;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    batch.swap(queue_);
    stopping = stopping_;
  }
  for (auto& j : batch) {
    // A failing job must not take the loop (and every shim connection) down.
    try {
      j(io);
    } catch (const std::exception& e) {
      spdlog::error("io thread: a posted job failed: {}", e.what());
    } catch (...) {
      spdlog::error("io thread: a posted job failed with an unknown exception");
    }
  }
  return !stopping;
}

void io_thread::run(std::promise<void>* ready) {
  bool announced = false;
  try {
    auto io = kj::setupAsyncIo();
    // Resources hold KJ objects of this loop: they must die before it does,
    // whichever way we leave.
    KJ_DEFER(while (!resources_.empty()) drop(resources_.begin()->first));
    kj::UnixEventPort::FdObserver observer(io.unixEventPort, event_fd_,
                                           kj::UnixEventPort::FdObserver::OBSERVE_READ);
    ready->set_value();
    announced = true;
    // wait() turns the loop (RPC traffic, timers) until the eventfd fires.
    while (drain(io)) observer.whenBecomesReadable().wait(io.waitScope);
    // Whatever was posted before the stop has run; now the resources die here,
    // on their own thread, and answer their pending callers as they go.
    while (!resources_.empty()) drop(resources_.begin()->first);
    // Let what those destructors queued (Finish and Abort messages) reach the wire.
    io.provider->getTimer().afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
  } catch (...) {
    if (!announced) {
      ready->set_exception(std::current_exception());
      return;
    }
    // Not expected: the loop itself failed. Refuse further posts, so callers
    // answer `unavailable` at once instead of waiting forever.
    {
      std::lock_guard<std::mutex> guard(mutex_);
      stopping_ = true;
      queue_.clear();
    }
    try {
      throw;
    } catch (const std::exception& e) {
      spdlog::critical("io thread: event loop failed: {}", e.what());
    } catch (...) {
      spdlog::critical("io thread: event loop failed");
    }
  }
}

}  // namespace berth
