// The connection to berthd: global flags (address, namespace, timeout,
// debug, TLS files), one KJ event loop, one Cap'n Proto two-party client
// over the unix socket or over mutual TLS (tls://HOST:PORT), and waiting on
// calls with the --timeout deadline. Every daemon verb gets one of these.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/compat/tls.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/actor_gateway.hpp"
#include "cli/command_error.hpp"
#include "schema/api.capnp.h"

namespace berth::cli {

namespace api = wire::api;

inline constexpr const char* kDefaultAddress = "unix:/run/berth/berth.sock";
inline constexpr const char* kClientVersion = "0.1.0";
// The deadline of a call that should be quick (listing, info, create,
// delete, kill, pause, resume, version, connecting) when --timeout is not
// given: a berthd that does not answer within it is reported, not waited on
// forever. Calls that last as long as a process does (wait, attach, events,
// logs --follow, run's wait, image import) have none (wait_unbounded).
inline constexpr double kDefaultCallDeadlineSeconds = 30;

struct global_options {
  std::string address = kDefaultAddress;
  std::string ns = "default";
  // --timeout: the deadline of each quick call; 0 for none; negative when
  // not given (kDefaultCallDeadlineSeconds then applies).
  double timeout_seconds = -1;
  bool debug = false;
  // For a tls:// address (and for --actor): this client's certificate and
  // key (berthd refuses a client without them), the CA that signed berthd's
  // certificate, and the name to verify it against (default: the address's
  // host; tls:// only).
  std::string tls_cert, tls_key, tls_ca, tls_server_name;
  // --actor HOST:PORT: speak actor messages to that node instead
  // (actor_gateway.hpp), with the --tls-* files or --insecure-actors.
  actor_options actor;
  // --node NAME: every call goes to that node of the cluster (atNode).
  std::string node;
};

// Adds --address, --namespace/-n, --timeout, --debug, the --tls-* flags,
// --actor, --insecure-actors and --node to `app` (with BERTH_ADDRESS,
// BERTH_NAMESPACE and BERTH_TLS_* as fallbacks).
void add_global_options(CLI::App& app, global_options& opts);

class daemon_client {
 public:
  // Connects to opts.address. `captured_signals` are taken over by the KJ
  // loop (kj::UnixEventPort::captureSignal) before it exists, so a verb can
  // forward them (SIGINT, SIGTERM to a task; SIGWINCH to its pty); other
  // verbs leave the default actions alone so Ctrl-C still ends them.
  daemon_client(const global_options& opts, const std::vector<int>& captured_signals = {});

  api::Berth::Client& berth() { return berth_; }
  kj::AsyncIoContext& io() { return io_; }
  kj::WaitScope& wait_scope() { return io_.waitScope; }
  const std::string& ns() const { return opts_.ns; }
  const global_options& options() const { return opts_; }

  // Waits for a call's response, bounded by --timeout (or by
  // kDefaultCallDeadlineSeconds when it is not given). A broken connection or
  // the deadline becomes a command_error naming `what`.
  template <typename T>
  T wait(kj::Promise<T>&& promise, const std::string& what) {
    return wait_impl(bounded(kj::mv(promise)), what);
  }

  // Waits with no deadline: for calls that last as long as a process does
  // (wait, logs --follow, events).
  template <typename T>
  T wait_unbounded(kj::Promise<T>&& promise, const std::string& what) {
    return wait_impl(kj::mv(promise), what);
  }

  // Resolves when berthd hangs up (for verbs that stream until stopped).
  kj::Promise<void> disconnected() { return rpc_->onDisconnect(); }

  // Prints `berth: debug: <message>` on stderr when --debug is on.
  void debug(const std::string& message) const;

 private:
  // The deadline of quick calls in seconds, 0 for none.
  double deadline_seconds() const {
    return opts_.timeout_seconds < 0 ? kDefaultCallDeadlineSeconds : opts_.timeout_seconds;
  }

  template <typename T>
  kj::Promise<T> bounded(kj::Promise<T>&& promise) {
    if (deadline_seconds() <= 0) return kj::mv(promise);
    auto ms = static_cast<int64_t>(deadline_seconds() * 1000);
    return io_.provider->getTimer().timeoutAfter(ms * kj::MILLISECONDS, kj::mv(promise));
  }

  template <typename T>
  T wait_impl(kj::Promise<T>&& promise, const std::string& what) {
    auto started = std::chrono::steady_clock::now();
    try {
      if constexpr (std::is_void_v<T>) {
        promise.wait(io_.waitScope);
        answered_ = true;
        debug_elapsed(what, started);
      } else {
        T result = promise.wait(io_.waitScope);
        answered_ = true;
        debug_elapsed(what, started);
        return result;
      }
    } catch (const kj::Exception& e) {
      throw command_error(what, describe(e));
    }
  }

  std::string describe(const kj::Exception& e) const;
  // Connects over mutual TLS; throws command_error naming `what`.
  void connect_tls(const std::string& address, const std::string& what);
  void connect_unix(const std::string& address, const std::string& what);
  void debug_elapsed(const std::string& what, std::chrono::steady_clock::time_point started) const;

  global_options opts_;
  std::unique_ptr<actor_gateway> gateway_;  // with --actor; outlives the connection
  kj::AsyncIoContext io_;
  kj::Own<kj::TlsContext> tls_;  // outlives the stream it encrypts
  bool answered_ = false;        // some wait succeeded since connecting
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  api::Berth::Client berth_;
};

// getContainer for `id` in the client's namespace; its error is thrown as
// "container ID: <why>".
capnp::Response<api::Berth::GetContainerResults> get_container(daemon_client& client,
                                                               const std::string& id);

// A verb, chosen while parsing and run once the command line is accepted.
// `signals` lists what the verb's daemon_client captures (see above).
struct verb_action {
  std::function<int(daemon_client&)> run;
  std::vector<int> signals{};
};

}  // namespace berth::cli
