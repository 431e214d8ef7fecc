// An actor system on CAF's deterministic test coordinator, for Catch2 tests
// of one actor against fakes: no scheduler threads, no real time. Every
// actor runs on the test's own thread when run() says so, and timers
// (delayed_send, request timeouts) fire only when the test moves the clock
// with advance(). So a test reads as a script: send, run, look at what each
// actor answered; move the clock 5 s, run, look again.
//
// CAF's own caf/test/dsl.hpp wraps the same coordinator, but it is built on
// CAF's unit-test framework and its main; berth's tests are Catch2, so this
// keeps only the part a Catch2 test needs.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actors/daemon/berth.hpp"
#include "actors/errors.hpp"

namespace berth::test {

// What happened, in order, as the fakes and the answers saw it: "store:
// exit default/web 137", "events: /tasks/exit default/web". A test asserts
// on the order of lines, which is the order the actors acted in.
struct journal {
  std::vector<std::string> lines;

  void add(std::string line) { lines.push_back(std::move(line)); }
  // Position of the first line that starts with `prefix`, or npos.
  std::size_t find(const std::string& prefix) const {
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind(prefix, 0) == 0) return i;
    return npos;
  }
  bool has(const std::string& prefix) const { return find(prefix) != npos; }
  std::size_t count(const std::string& prefix) const {
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [&](auto& l) { return l.rfind(prefix, 0) == 0; }));
  }
  std::string dump() const {
    std::string out;
    for (auto& l : lines) out += "  " + l + "\n";
    return out;
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

// The answer to one request, filled in when it arrives (during run()).
// `position` is the journal's length at that moment, so a test can say the
// answer came after a line.
template <class T>
struct answer {
  std::optional<T> value;
  std::optional<caf::error> error;
  std::size_t position = journal::npos;

  bool done() const { return value.has_value() || error.has_value(); }
  errc code() const { return error ? error_code(*error) : errc::ok; }
  std::string message() const { return error ? error_message(*error) : std::string{}; }
};

// A void reply arrives as an empty value.
struct no_value {};

struct deterministic_config : caf::actor_system_config {
  deterministic_config() {
    add_berth_types(*this);
    set("scheduler.policy", caf::atom("testing"));
    set("logger.verbosity", caf::atom("quiet"));
  }
};

class deterministic_system {
 public:
  deterministic_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  berth::test::journal log;

  deterministic_system() {
    // A clock at zero reads as "never" to some code; start an hour in.
    sched.clock().current_time += std::chrono::hours(1);
    // Fakes and the actor under test hold handles to each other; a test
    // ends them itself (stop()) and never waits on a thread that is not there.
    sys.await_actors_before_shutdown(false);
  }

  // Ends `actors` (as a supervisor would) and lets them finish.
  template <class... Handles>
  void stop(const Handles&... actors) {
    (caf::anon_send_exit(actors, caf::exit_reason::user_shutdown), ...);
    run();
  }
  ~deterministic_system() { run(); }

  // Lets every actor handle every message it has, until all are idle.
  std::size_t run() { return sched.run(); }

  // Moves the clock on by `d` (timers that fall due fire), then runs.
  void advance(caf::timespan d) {
    sched.clock().advance_time(d);
    run();
  }

  // Sends a request to `to` from a fresh actor and returns where its answer
  // will be; nothing happens until run(). T is the reply type (void for
  // none).
  template <class T, class Handle, class... Ts>
  std::shared_ptr<answer<std::conditional_t<std::is_void_v<T>, no_value, T>>> ask(const Handle& to,
                                                                                  Ts... xs) {
    using value_type = std::conditional_t<std::is_void_v<T>, no_value, T>;
    auto out = std::make_shared<answer<value_type>>();
    auto* lg = &log;
    sys.spawn([out, lg, to, xs...](caf::event_based_actor* self) {
      auto failed = [out, lg](caf::error& err) {
        out->error = std::move(err);
        out->position = lg->lines.size();
      };
      if constexpr (std::is_void_v<T>) {
        self->request(to, caf::infinite, xs...)
            .then(
                [out, lg] {
                  out->value = no_value{};
                  out->position = lg->lines.size();
                },
                failed);
      } else {
        self->request(to, caf::infinite, xs...)
            .then(
                [out, lg](T& x) {
                  out->value = std::move(x);
                  out->position = lg->lines.size();
                },
                failed);
      }
    });
    return out;
  }
};

}  // namespace berth::test
