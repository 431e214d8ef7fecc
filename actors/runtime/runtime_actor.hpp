// runtime: one actor per runtime name ("io.berth.runc.v1"). It knows which
// berth-shim binary to run and with which OCI runtime, starts shims, connects
// shim proxies to them and cleans up after dead ones.
//
// `berth-shim start|delete` block until the shim is up (or gone), so each run
// happens on a detached helper actor (its own thread); no scheduler thread
// ever waits on a child process. The helper waits for its own child's pid
// only, so nothing here needs SIGCHLD blocked or handled.
//
// Errors are berth errors (actors/errors.hpp):
//   invalid_argument     a namespace or id that breaks the identifier rule
//   failed_precondition  berth-shim refused (bad bundle, unknown runtime, ...);
//                        the message is berth-shim's own
//   unavailable          the shim binary cannot be run; connecting failed
//   deadline_exceeded    berth-shim did not finish within command_timeout
//   internal             berth-shim answered something unreadable
#pragma once

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/runtime/io_thread.hpp"
#include "actors/runtime/shim_messages.hpp"
#include "actors/runtime/shim_proxy.hpp"
#include "actors/supervised.hpp"

namespace berth {

using start_shim_atom = caf::atom_constant<caf::atom("startShim")>;
using connect_shim_atom = caf::atom_constant<caf::atom("connShim")>;
using cleanup_shim_atom = caf::atom_constant<caf::atom("cleanShim")>;

struct runtime_config {
  std::string name;                     // "io.berth.runc.v1"
  std::string shim_binary;              // path of berth-shim
  std::string runtime_binary = "runc";  // the OCI runtime: a name on PATH or a path
  std::string runtime_root;             // its --root is <runtime_root>/<ns>; empty for its default
  std::string shim_log_level = "info";
  std::chrono::milliseconds call_deadline{5000};     // per shim call, for every proxy
  std::chrono::milliseconds command_timeout{30000};  // per `berth-shim start|delete`
};

// Arguments after the atom are (ns, id, bundle, state_dir) for start and
// cleanup, (ns, id, address, subscriber) for connect.
using runtime_actor = caf::typed_actor<
    // Runs `berth-shim start`; replies with its address, "unix:/path".
    // Idempotent: a live shim for the task answers with its address.
    caf::replies_to<start_shim_atom, std::string, std::string, std::string,
                    std::string>::with<std::string>,
    // Spawns a shim_proxy, connects it and replies with it once the shim
    // answered `connect`; the proxy's events go to the subscriber.
    caf::replies_to<connect_shim_atom, std::string, std::string, std::string,
                    shim_event_sink>::with<shim_proxy_actor>,
    // Runs `berth-shim delete` (kills a leftover shim and its container, runs
    // `runc delete --force`) and replies with the task's recorded exit, code
    // 255 with a reason when the shim died before recording one.
    caf::replies_to<cleanup_shim_atom, std::string, std::string, std::string,
                    std::string>::with<exit_status>,
    failpoint_message>;

// Spawns the runtime actor; proxies it connects use `io`.
runtime_actor spawn_runtime(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                            runtime_config cfg);

}  // namespace berth
