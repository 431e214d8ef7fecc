// The current handles of berth's long-lived actors. A restart by the
// supervisor replaces an actor, so whoever talks to berth from outside the
// actor system (the API server on the KJ thread, a test) reads the handle it
// needs at each call instead of keeping the one it started with.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "actors/daemon/events.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/images/images_actor.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/store/store_actor.hpp"

namespace berth {

struct berth_actors {
  store_actor store;
  events_actor events;
  images_actor images;
  std::map<std::string, runtime_actor> runtimes;
  registry_actor registry;
};

// Written by the supervisor, read from any thread.
class berth_handles {
 public:
  berth_actors get() const {
    std::lock_guard<std::mutex> lock{mu_};
    return now_;
  }
  registry_actor registry() const {
    std::lock_guard<std::mutex> lock{mu_};
    return now_.registry;
  }
  events_actor events() const {
    std::lock_guard<std::mutex> lock{mu_};
    return now_.events;
  }
  images_actor images() const {
    std::lock_guard<std::mutex> lock{mu_};
    return now_.images;
  }
  store_actor store() const {
    std::lock_guard<std::mutex> lock{mu_};
    return now_.store;
  }
  void set(berth_actors actors) {
    std::lock_guard<std::mutex> lock{mu_};
    now_ = std::move(actors);
  }

  // The supervisor's last failure ("berth.runtime io.berth.runc.v1 failed:
  // ..."), so a request cut short by the restart it caused can say why.
  void note_failure(std::string what) {
    std::lock_guard<std::mutex> lock{mu_};
    last_failure_ = std::move(what);
    last_failure_at_ = std::chrono::steady_clock::now();
  }
  // The last failure if it happened within `within`, else "".
  std::string recent_failure(std::chrono::milliseconds within) const {
    std::lock_guard<std::mutex> lock{mu_};
    if (last_failure_.empty() || std::chrono::steady_clock::now() - last_failure_at_ > within)
      return {};
    return last_failure_;
  }

 private:
  mutable std::mutex mu_;
  berth_actors now_;
  std::string last_failure_;
  std::chrono::steady_clock::time_point last_failure_at_;
};

}  // namespace berth
