// What the daemon's integration tests share: an actor system with the
// runtime's types, one io_thread, a runtime actor for real berth-shim and
// runc, a blocking actor to ask them (and to receive proxy events), and
// shims that are cleaned up whatever way a test ends.
#pragma once

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/runtime_actor.hpp"
#include "actors/runtime/shim_proxy.hpp"
#include "shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"

namespace Catch {
template <>
struct StringMaker<berth::errc> {
  static std::string convert(berth::errc code) { return berth::to_string(code); }
};
}  // namespace Catch

namespace berth::test {

using namespace std::chrono_literals;

struct daemon_config : caf::actor_system_config {
  daemon_config() { add_runtime_types(*this); }
};

// A task id no other test run on this machine uses (runc's root is shared).
std::string unique_id(const std::string& stem);

// A busybox bundle in its own temp dir; the destructor runs `berth-shim
// delete` for it, so no shim or container outlives a failed test.
struct task_dir {
  temp_dir dir{"berth-daemon-test"};
  shim_args args;

  explicit task_dir(const std::string& id_stem, const bundle_options& opts = {});
  ~task_dir();
  task_dir(const task_dir&) = delete;
  task_dir& operator=(const task_dir&) = delete;
};

struct daemon_fixture {
  daemon_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<io_thread> io = std::make_shared<io_thread>();
  runtime_actor runtime;
  std::vector<shim_proxy_actor> proxies;  // stopped by the destructor

  explicit daemon_fixture(std::chrono::milliseconds deadline = 5s,
                          const std::string& shim_binary = build_path("shim/berth-shim"));
  ~daemon_fixture();

  // This blocking actor as an event subscriber.
  shim_event_sink sink() { return caf::actor_cast<shim_event_sink>(self.ptr()); }

  // Starts a shim for `t` and connects a proxy to it; REQUIREs success.
  shim_proxy_actor start_and_connect(const task_dir& t);

  // Asks and waits for the answer (or an error).
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& h, Ts&&... xs) {
    std::optional<caf::expected<T>> out;
    self->request(h, 60s, std::forward<Ts>(xs)...)
        .receive([&](T& x) { out.emplace(std::move(x)); },
                 [&](caf::error& err) { out.emplace(std::move(err)); });
    return std::move(*out);
  }
  // The same for requests answered with nothing: the error, or none.
  template <class Handle, class... Ts>
  caf::error tell(const Handle& h, Ts&&... xs) {
    caf::error out;
    self->request(h, 60s, std::forward<Ts>(xs)...)
        .receive([] {}, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  // What the proxies sent this actor, in arrival order.
  std::vector<shim_event> events;
  std::optional<shim_lost> lost;
  // Receives events and losses until pred() holds or `timeout` passes;
  // returns pred().
  bool collect_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 30s);
};

// Fails the test with the error's message when `x` holds an error.
// Evaluates `x` once.
#define REQUIRE_VALUE(x)                                                               \
  do {                                                                                 \
    const auto& daemon_val_ = (x);                                                     \
    INFO((daemon_val_ ? std::string() : ::berth::error_message(daemon_val_.error()))); \
    REQUIRE(static_cast<bool>(daemon_val_));                                           \
  } while (0)

#define REQUIRE_NO_ERROR(err)                      \
  do {                                             \
    auto daemon_err_ = (err);                      \
    INFO(::berth::error_message(daemon_err_));     \
    REQUIRE_FALSE(static_cast<bool>(daemon_err_)); \
  } while (0)

}  // namespace berth::test
