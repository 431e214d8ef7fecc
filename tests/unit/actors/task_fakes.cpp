#include "tests/unit/actors/task_fakes.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <utility>

#include "actors/errors.hpp"

namespace berth::test {
namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;
// A held proxy call whose deadline passed.
using due_atom = caf::atom_constant<caf::atom("fakeDue")>;

std::string key(const std::string& ns, const std::string& id) {
  return ns + "/" + id;
}

// ---- the shim proxy ------------------------------------------------------------

using fake_proxy_impl = shim_proxy_actor::extend<caf::reacts_to<due_atom, std::uint64_t>>;

struct fake_proxy_state {
  std::shared_ptr<fake_shim> shim;
  journal* log = nullptr;
  // Calls a silent shim left unanswered, by number, with their operation.
  std::map<std::uint64_t, std::pair<std::string, caf::response_promise>> held;
  std::uint64_t next = 0;
};

using fake_proxy_pointer = fake_proxy_impl::stateful_pointer<fake_proxy_state>;

// One call to the shim: answered by `reply` while the shim is responsive,
// else held until the deadline passes on the test clock.
template <class T, class Reply>
caf::result<T> call(fake_proxy_pointer self, const std::string& op, Reply reply) {
  auto& st = self->state;
  if (st.shim->silent) {
    st.log->add("shim: " + op + " (no answer)");
    auto rp = self->make_response_promise();
    auto n = ++st.next;
    st.held.emplace(n, std::make_pair(op, rp));
    self->delayed_send(self, st.shim->deadline, due_atom::value, n);
    return rp;
  }
  st.log->add("shim: " + op);
  return reply();
}

caf::result<void> done() {
  return caf::unit;
}

fake_proxy_impl::behavior_type fake_proxy(fake_proxy_pointer self, std::shared_ptr<fake_shim> shim,
                                          journal* log) {
  self->state.shim = std::move(shim);
  self->state.log = log;
  auto& sh = self->state.shim;
  return {
      [self, sh](shim_connect) -> caf::result<shim_info> {
        if (sh->gone) {
          self->state.log->add("shim: connect (refused)");
          return make_error(errc::unavailable, "cannot connect to shim for task " + sh->ns + "/" +
                                                   sh->id + ": connection refused");
        }
        return call<shim_info>(self, "connect", [sh]() -> caf::result<shim_info> {
          return shim_info{sh->shim_pid, sh->pid, "fake"};
        });
      },
      [self, sh](shim_create&) -> caf::result<std::uint32_t> {
        return call<std::uint32_t>(self, "create", [sh]() -> caf::result<std::uint32_t> {
          if (sh->create_error) return sh->create_error;
          sh->status = shim_status::created;
          return sh->pid;
        });
      },
      [self, sh](shim_start& x) -> caf::result<std::uint32_t> {
        return call<std::uint32_t>(self, "start" + (x.exec_id.empty() ? "" : " " + x.exec_id),
                                   [sh, x]() -> caf::result<std::uint32_t> {
                                     if (!x.exec_id.empty()) return sh->pid + 1;
                                     sh->status = shim_status::running;
                                     return sh->pid;
                                   });
      },
      [self, sh](shim_state& x) -> caf::result<process_state> {
        return call<process_state>(self, "state", [sh, x]() -> caf::result<process_state> {
          process_state ps;
          ps.id = sh->id;
          ps.exec_id = x.exec_id;
          ps.pid = sh->pid;
          ps.status = sh->status;
          ps.exit = sh->exit;
          return ps;
        });
      },
      [self](shim_pids) -> caf::result<std::vector<process_info>> {
        auto sh = self->state.shim;
        return call<std::vector<process_info>>(
            self, "pids", [sh]() -> caf::result<std::vector<process_info>> {
              return std::vector<process_info>{{sh->pid, "", "sleep"}};
            });
      },
      [self, sh](shim_pause) -> caf::result<void> {
        return call<void>(self, "pause", [sh] {
          sh->status = shim_status::paused;
          return done();
        });
      },
      [self, sh](shim_resume) -> caf::result<void> {
        return call<void>(self, "resume", [sh] {
          sh->status = shim_status::running;
          return done();
        });
      },
      [self](shim_kill& x) -> caf::result<void> {
        return call<void>(self, "kill " + std::to_string(x.signal), done);
      },
      [self](shim_exec& x) -> caf::result<void> {
        return call<void>(self, "exec " + x.exec_id, done);
      },
      [self](shim_wait&) -> caf::result<exit_status> {
        // No fake test waits through the shim: the task answers init waits.
        return call<exit_status>(self, "wait", []() -> caf::result<exit_status> {
          return make_error(errc::not_implemented, "the fake shim does not wait");
        });
      },
      [self, sh](shim_delete& x) -> caf::result<deleted_process> {
        return call<deleted_process>(self, "delete" + (x.exec_id.empty() ? "" : " " + x.exec_id),
                                     [sh]() -> caf::result<deleted_process> {
                                       sh->status = shim_status::deleted;
                                       return deleted_process{sh->pid, sh->exit};
                                     });
      },
      [self](shim_close_io&) -> caf::result<void> { return call<void>(self, "close io", done); },
      [self](shim_attach&) -> caf::result<bool> {
        return call<bool>(self, "attach", []() -> caf::result<bool> { return true; });
      },
      [self](shim_resize_pty&) -> caf::result<void> { return call<void>(self, "resize", done); },
      [self](shim_update&) -> caf::result<void> { return call<void>(self, "update", done); },
      [self](shim_stats) -> caf::result<task_stats> {
        return call<task_stats>(self, "stats",
                                []() -> caf::result<task_stats> { return task_stats{}; });
      },
      [self](shim_checkpoint&) -> caf::result<void> {
        return call<void>(self, "checkpoint", done);
      },
      [self](shim_shutdown&) -> caf::result<void> { return call<void>(self, "shutdown", done); },
      [self](shim_subscribe& x) -> caf::result<void> {
        return call<void>(self, "subscribe after " + std::to_string(x.after_sequence), done);
      },
      [self](due_atom, std::uint64_t n) {
        auto& st = self->state;
        auto it = st.held.find(n);
        if (it == st.held.end()) return;
        // The real proxy's words (shim_proxy.hpp).
        it->second.second.deliver(make_error(
            errc::deadline_exceeded, "shim for task " + st.shim->ns + "/" + st.shim->id +
                                         " did not answer " + it->second.first + " within " +
                                         std::to_string(st.shim->deadline.count() / 1000) + "s"));
        st.held.erase(it);
      },
  };
}

// ---- the runtime ------------------------------------------------------------------

runtime_actor::behavior_type fake_runtime(runtime_actor::pointer self,
                                          std::shared_ptr<fake_shim> shim, journal* log) {
  return {
      [log](start_shim_atom, const std::string& ns, const std::string& id,
            const std::string& bundle, const std::string&) -> caf::result<std::string> {
        log->add("runtime: start shim " + key(ns, id));
        return "unix:" + bundle + "/shim.sock";
      },
      [self, shim, log](connect_shim_atom, const std::string& ns, const std::string& id,
                        const std::string&,
                        shim_event_sink& sink) -> caf::result<shim_proxy_actor> {
        log->add("runtime: connect " + key(ns, id));
        auto proxy = caf::actor_cast<shim_proxy_actor>(self->spawn(fake_proxy, shim, log));
        ++shim->proxies;
        shim->subscriber = sink;
        // As the real runtime: the proxy is handed out once the shim answered.
        auto rp = self->make_response_promise<shim_proxy_actor>();
        self->request(proxy, caf::infinite, shim_connect{})
            .then([rp, proxy](const shim_info&) mutable { rp.deliver(proxy); },
                  [self, rp, proxy](caf::error& err) mutable {
                    self->send_exit(proxy, caf::exit_reason::user_shutdown);
                    rp.deliver(std::move(err));
                  });
        return rp;
      },
      [shim, log](cleanup_shim_atom, const std::string& ns, const std::string& id,
                  const std::string&, const std::string&) -> caf::result<exit_status> {
        log->add("runtime: cleanup " + key(ns, id));
        auto es = shim->cleanup_exit;
        if (es.exited_at == caf::timestamp{}) es.exited_at = caf::make_timestamp();
        return es;
      },
      failpoint_handler(),
  };
}

// ---- the store -----------------------------------------------------------------

struct fake_store_state {
  std::vector<std::pair<task_record, caf::response_promise>> held;
};

caf::behavior fake_store(caf::stateful_actor<fake_store_state>* self,
                         std::shared_ptr<fake_store_data> data, journal* log) {
  self->set_default_handler([log](caf::scheduled_actor*, caf::message_view& x) {
    log->add("store: unexpected " + x.content().stringify());
    return caf::result<caf::message>{make_error(errc::not_implemented, "not in the fake store")};
  });
  return {
      [data, log](put_task_atom, task_record& r) {
        log->add("store: put " + key(r.ns, r.id) + " " + to_string(r.status) + " pid " +
                 std::to_string(r.pid));
        data->tasks[key(r.ns, r.id)] = r;
        return r;
      },
      [self, data, log](task_exit_atom, const std::string& ns, const std::string& id,
                        const task_exit& x) -> caf::result<task_record> {
        log->add("store: exit " + key(ns, id) + " " + std::to_string(x.exit_code));
        auto& r = data->tasks[key(ns, id)];
        r.ns = ns;
        r.id = id;
        r.status = task_status::stopped;
        r.exit_code = x.exit_code;
        r.exit_signal = x.exit_signal;
        r.exited_at = x.exited_at;
        r.exit_reason = x.exit_reason;
        if (!data->hold_exits) return r;
        auto rp = self->make_response_promise();
        self->state.held.emplace_back(r, rp);
        return rp;
      },
      [data, log](del_task_atom, const std::string& ns,
                  const std::string& id) -> caf::result<task_record> {
        log->add("store: delete " + key(ns, id));
        auto it = data->tasks.find(key(ns, id));
        if (it == data->tasks.end())
          return make_error(errc::not_found, "task " + key(ns, id) + " not found");
        auto r = it->second;
        data->tasks.erase(it);
        return r;
      },
      [self, log](release_atom) {
        for (auto& [r, rp] : self->state.held) {
          log->add("store: stored exit " + key(r.ns, r.id));
          rp.deliver(r);
        }
        self->state.held.clear();
      },
  };
}

// ---- the events actor --------------------------------------------------------------

events_actor::behavior_type fake_events(events_actor::pointer,
                                        std::shared_ptr<fake_events_data> data, journal* log) {
  return {
      [data, log](publish_atom, berth_event& e) {
        e.topic = topic_of(e.kind);
        std::string line = "events: " + e.topic + " " + key(e.ns, e.id);
        if (e.kind == event_kind::task_exit || e.kind == event_kind::task_delete)
          line += " " + std::to_string(e.status.code);
        log->add(line);
        data->published.push_back(std::move(e));
      },
      [](subscribe_atom, const event_filter&, const event_subscriber&, std::uint64_t) {
        return std::uint64_t{0};
      },
      [](unsubscribe_atom, const event_subscriber&) {},
      [](event_ack_atom, const event_subscriber&, std::uint64_t) {},
      failpoint_handler(),
  };
}

}  // namespace

void emit(const fake_shim& shim, shim_event ev) {
  if (ev.ns.empty()) ev.ns = shim.ns;
  if (ev.id.empty()) ev.id = shim.id;
  if (ev.time == caf::timestamp{}) ev.time = caf::make_timestamp();
  caf::anon_send(shim.subscriber, std::move(ev));
}

task_fakes::task_fakes(deterministic_system& d)
    : store(caf::actor_cast<store_actor>(d.sys.spawn(fake_store, store_data, &d.log))),
      events(d.sys.spawn(fake_events, events_data, &d.log)),
      runtime(d.sys.spawn(fake_runtime, shim, &d.log)) {}

void task_fakes::release_exits() {
  caf::anon_send(caf::actor_cast<caf::actor>(store), release_atom::value);
}

}  // namespace berth::test
