#include "actors/runtime/runtime_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

#include "actors/errors.hpp"
#include "actors/runtime/shim_command.hpp"
#include "schema/identifier.hpp"

namespace berth {
namespace {

using run_command_atom = caf::atom_constant<caf::atom("runCmd")>;

// One command on its own thread: a detached actor that answers once and quits.
// It gets its command at spawn (CAF 0.17 dereferences a null argument tuple
// when a function actor is spawned with no arguments).
caf::behavior command_runner(caf::event_based_actor* self, std::vector<std::string> argv,
                             std::chrono::milliseconds timeout) {
  return {
      [self, argv = std::move(argv), timeout](run_command_atom) -> command_output {
        auto out = run_command(argv, timeout);
        self->quit();
        return out;
      },
  };
}

struct runtime_state {
  runtime_config cfg;
  std::shared_ptr<io_thread> io;
  static inline const char* name = "berth.runtime";
};

using runtime_pointer = runtime_actor::stateful_pointer<runtime_state>;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// berth-shim's complaint without its own prefixes, which our message repeats.
std::string shim_complaint(std::string err, const std::string& ns, const std::string& id) {
  err = trimmed(std::move(err));
  for (const std::string& prefix :
       {std::string("berth-shim: "), "cannot start shim for " + ns + "/" + id + ": "}) {
    if (err.rfind(prefix, 0) == 0) err.erase(0, prefix.size());
  }
  return err;
}

std::vector<std::string> shim_argv(const runtime_config& cfg, const std::string& verb,
                                   const std::string& ns, const std::string& id,
                                   const std::string& bundle, const std::string& state_dir) {
  std::vector<std::string> argv = {cfg.shim_binary, verb};
  auto flag = [&argv](const char* name, const std::string& value) {
    argv.push_back(name);
    argv.push_back(value);
  };
  flag("--namespace", ns);
  flag("--id", id);
  flag("--bundle", bundle);
  flag("--runtime", cfg.runtime_binary);
  if (!state_dir.empty()) flag("--state-dir", state_dir);
  // One runtime root per namespace: runc's container ids are global within
  // its root, berth's only within a namespace.
  if (!cfg.runtime_root.empty()) flag("--runtime-root", cfg.runtime_root + "/" + ns);
  if (verb == "start") flag("--log-level", cfg.shim_log_level);
  return argv;
}

caf::error check_names(const std::string& ns, const std::string& id) {
  if (auto e = check_identifier("namespace", ns)) return make_error(errc::invalid_argument, *e);
  if (auto e = check_identifier("task id", id)) return make_error(errc::invalid_argument, *e);
  return caf::none;
}

// A command that did not run to its end, as an error; none when it did.
caf::error run_failure(const command_output& r, const std::string& what) {
  if (r.timed_out) return make_error(errc::deadline_exceeded, what + ": " + r.failure);
  if (!r.failure.empty()) return make_error(errc::unavailable, what + ": " + r.failure);
  return caf::none;
}

// Runs `argv` on a fresh detached runner; `done` gets its output (in this
// actor's context), the promise an error if the runner itself failed.
template <class Promise, class Done>
void run_detached(runtime_pointer self, std::vector<std::string> argv, Promise rp, Done done) {
  auto runner =
      self->spawn<caf::detached>(command_runner, std::move(argv), self->state.cfg.command_timeout);
  // The runner enforces the timeout itself (and kills the child); the request
  // waits for it.
  self->request(runner, caf::infinite, run_command_atom::value)
      .then([done](command_output& out) mutable { done(out); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

runtime_actor::behavior_type ready(runtime_pointer self) {
  report_exceptions(self, "berth.runtime");
  return {
      failpoint_handler(),
      [self](start_shim_atom, const std::string& ns, const std::string& id,
             const std::string& bundle, const std::string& state_dir) -> caf::result<std::string> {
        if (auto err = check_names(ns, id)) return err;
        auto rp = self->make_response_promise<std::string>();
        auto what = "cannot start shim for task " + ns + "/" + id;
        run_detached(self, shim_argv(self->state.cfg, "start", ns, id, bundle, state_dir), rp,
                     [rp, what, ns, id](command_output& r) mutable {
                       if (auto err = run_failure(r, what)) {
                         rp.deliver(std::move(err));
                       } else if (r.exit_code != 0) {
                         auto why = shim_complaint(r.err, ns, id);
                         if (why.empty())
                           why = "berth-shim exited with " + std::to_string(r.exit_code);
                         rp.deliver(make_error(errc::failed_precondition, what + ": " + why));
                       } else if (auto address = trimmed(r.out); address.rfind("unix:", 0) != 0) {
                         rp.deliver(make_error(
                             errc::internal,
                             what + ": berth-shim printed no address but \"" + address + "\""));
                       } else {
                         rp.deliver(std::move(address));
                       }
                     });
        return rp;
      },
      [self](connect_shim_atom, const std::string& ns, const std::string& id,
             const std::string& address,
             shim_event_sink& subscriber) -> caf::result<shim_proxy_actor> {
        if (auto err = check_names(ns, id)) return err;
        shim_proxy_config pc{ns, id, address, self->state.cfg.call_deadline,
                             self->state.cfg.command_timeout};
        auto proxy =
            spawn_shim_proxy(self->system(), self->state.io, std::move(pc), std::move(subscriber));
        auto rp = self->make_response_promise<shim_proxy_actor>();
        // The proxy's own deadline bounds this; no second timeout here.
        self->request(proxy, caf::infinite, shim_connect{})
            .then([rp, proxy](const shim_info&) mutable { rp.deliver(proxy); },
                  [self, rp, proxy](caf::error& err) mutable {
                    self->send_exit(proxy, caf::exit_reason::user_shutdown);
                    rp.deliver(std::move(err));
                  });
        return rp;
      },
      [self](cleanup_shim_atom, const std::string& ns, const std::string& id,
             const std::string& bundle, const std::string& state_dir) -> caf::result<exit_status> {
        if (auto err = check_names(ns, id)) return err;
        auto rp = self->make_response_promise<exit_status>();
        auto what = "cannot clean up shim for task " + ns + "/" + id;
        run_detached(self, shim_argv(self->state.cfg, "delete", ns, id, bundle, state_dir), rp,
                     [rp, what](command_output& r) mutable {
                       if (auto err = run_failure(r, what)) {
                         rp.deliver(std::move(err));
                         return;
                       }
                       if (r.exit_code != 0) {
                         rp.deliver(make_error(errc::failed_precondition,
                                               what + ": " + shim_complaint(r.err, "", "")));
                         return;
                       }
                       // berth-shim delete says what it could not clean and still
                       // succeeds (a container that is already gone is fine).
                       if (auto note = trimmed(r.err); !note.empty())
                         spdlog::warn("{}: {}", what, note);
                       auto doc = nlohmann::json::parse(r.out, nullptr, false);
                       if (doc.is_discarded() || !doc.is_object() || !doc.contains("exit_status")) {
                         rp.deliver(make_error(
                             errc::internal, what + ": berth-shim delete printed \"" +
                                                 trimmed(r.out) + "\", not its JSON exit status"));
                         return;
                       }
                       exit_status st;
                       st.code = doc.value("exit_status", 255);
                       st.signal = doc.value("signal", 0);
                       st.exited_at =
                           caf::timestamp{caf::timespan{doc.value("exited_at", std::int64_t{0})}};
                       st.reason = doc.value("reason", std::string{});
                       rp.deliver(std::move(st));
                     });
        return rp;
      },
  };
}

runtime_actor::behavior_type runtime_fun(runtime_pointer self, std::shared_ptr<io_thread> io,
                                         runtime_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.io = std::move(io);
  return ready(self);
}

}  // namespace

runtime_actor spawn_runtime(caf::actor_system& sys, std::shared_ptr<io_thread> io,
                            runtime_config cfg) {
  return sys.spawn(runtime_fun, std::move(io), std::move(cfg));
}

}  // namespace berth
