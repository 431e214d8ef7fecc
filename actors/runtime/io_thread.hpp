// io_thread: the one thread of berthd that runs a KJ event loop and so
// carries all Cap'n Proto traffic.
//
// Actors never touch KJ objects. They post closures; the KJ thread runs them
// in order. Why not kj::Executor: executeAsync must be called from a thread
// with its own KJ loop (a CAF worker has none) and executeSync would block the
// actor (see /work/shared/NOTES.md). So: a mutex-guarded queue plus an
// eventfd that the loop watches with a kj::UnixEventPort::FdObserver.
//
// A closure must not capture KJ objects (it is destroyed on the posting
// thread when the io_thread has stopped) and must not touch actor state: it
// answers by sending a message. Objects that live across closures (a shim
// connection) are kept in the io_thread's registry under a key, so they are
// created, used and destroyed on the KJ thread only, and die before the loop
// does.
#pragma once

#include <kj/async-io.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace berth {

class io_thread {
 public:
  using job = std::function<void(kj::AsyncIoContext&)>;

  // Something that lives on the KJ thread and is destroyed there.
  class resource {
   public:
    // noexcept(false) as in KJ: members such as kj::TaskSet may throw.
    virtual ~resource() noexcept(false) = default;
  };

  // Starts the thread and returns once its event loop is ready. Throws
  // std::system_error when the eventfd or the thread cannot be created.
  io_thread();
  // Runs the closures already posted, destroys every registered resource on
  // the KJ thread, stops the loop and joins. Must not run on the KJ thread:
  // whoever creates it (berthd's main) keeps a reference until the actors
  // holding the others are gone.
  ~io_thread();

  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;

  // Any thread: queues `j` for the KJ thread. False (and `j` is dropped on
  // the caller's thread) once the destructor has begun.
  bool post(job j);

  // Any thread: a fresh key for the registry.
  std::uint64_t new_key() { return next_key_.fetch_add(1); }

  // ---- KJ thread only (inside a posted job or a KJ callback) ----------------

  // Keeps `r` under `key` (replacing and destroying an earlier one).
  void keep(std::uint64_t key, kj::Own<resource> r);
  // The resource under `key` if it is a T, else nullptr.
  template <class T>
  T* find(std::uint64_t key) {
    auto it = resources_.find(key);
    return it == resources_.end() ? nullptr : dynamic_cast<T*>(it->second.get());
  }
  // Destroys the resource under `key`, if any.
  void drop(std::uint64_t key);

  // True on the KJ thread itself.
  bool on_io_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void run(std::promise<void>* ready);
  // Reads the eventfd to EAGAIN, then runs what was queued; false once stopping.
  bool drain(kj::AsyncIoContext& io);

  int event_fd_ = -1;
  std::mutex mutex_;
  std::vector<job> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::atomic<std::uint64_t> next_key_{1};
  std::unordered_map<std::uint64_t, kj::Own<resource>> resources_;  // KJ thread only
  std::thread thread_;
};

}  // namespace berth
