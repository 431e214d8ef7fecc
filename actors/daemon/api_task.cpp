#include "actors/daemon/api_task.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <kj/exception.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "actors/daemon/api_convert.hpp"
#include "actors/daemon/client_paths.hpp"
#include "actors/daemon/node_messages.hpp"
#include "actors/daemon/registry_actor.hpp"
#include "actors/daemon/task_log_reader.hpp"
#include "actors/errors.hpp"
#include "actors/runtime/wire_convert.hpp"

namespace berth {
namespace {

using wire::api::Task;
namespace ac = api_convert;

constexpr std::size_t kLogBatchBytes = 256 * 1024;  // one batch sent at a time

class task_service final : public Task::Server {
 public:
  task_service(api_bridge bridge, task_actor task, std::string ns, std::string id,
               std::string log_path, caf::actor log_node, api_peer peer,
               std::shared_ptr<stdio_relays> relays)
      : bridge_(with_caller(std::move(bridge))),
        task_(std::move(task)),
        ns_(std::move(ns)),
        id_(std::move(id)),
        log_path_(std::move(log_path)),
        log_node_(std::move(log_node)),
        peer_(std::move(peer)),
        relays_(std::move(relays)),
        registry_(bridge_.actors ? bridge_.actors->registry() : registry_actor{}) {}

  ~task_service() noexcept(false) {
    caf::anon_send_exit(bridge_.caller, caf::exit_reason::user_shutdown);
  }

  kj::Promise<void> start(StartContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<std::uint32_t>(ctx, task_start{r.getExecId().cStr()},
                               [](auto resp, std::uint32_t pid) { resp.setPid(pid); });
  }
  kj::Promise<void> state(StateContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<task_info>(ctx, task_state{r.getExecId().cStr()},
                           [](auto resp, const task_info& i) { ac::fill(resp.initInfo(), i); });
  }
  kj::Promise<void> pids(PidsContext ctx) override {
    return call<std::vector<process_info>>(
        ctx, task_pids{}, [](auto resp, const std::vector<process_info>& ps) {
          auto list = resp.initProcesses(static_cast<unsigned>(ps.size()));
          for (unsigned i = 0; i < ps.size(); ++i) ac::fill(list[i], ps[i]);
        });
  }
  kj::Promise<void> pause(PauseContext ctx) override {
    return call<void>(ctx, task_pause{}, [](auto, caf::unit_t) {});
  }
  kj::Promise<void> resume(ResumeContext ctx) override {
    return call<void>(ctx, task_resume{}, [](auto, caf::unit_t) {});
  }
  kj::Promise<void> kill(KillContext ctx) override {
    auto r = ctx.getParams().getReq();
    task_kill k{r.getExecId().cStr(), r.getSignal(), r.getAll()};
    return call<void>(ctx, std::move(k), [](auto, caf::unit_t) {});
  }
  kj::Promise<void> exec(ExecContext ctx) override {
    auto e = ac::from_wire(ctx.getParams().getReq());
    if (auto refused = check_stdio(peer_, e.stdio)) return refuse(ctx, refused);
    return call_relayed<void>(ctx, std::move(e), [](auto, caf::unit_t) {});
  }
  kj::Promise<void> wait(WaitContext ctx) override {
    auto r = ctx.getParams().getReq();
    std::string exec_id = r.getExecId().cStr();
    auto waited = call<exit_status>(ctx, task_wait{exec_id}, [](auto resp, const exit_status& s) {
      ac::fill(resp.initStatus(), s);
    });
    if (!relays_) return waited;
    // The client stops reading its FIFOs once wait answers: what the task
    // wrote must have come across first.
    return waited.then([this, exec_id] {
      return stdio_drained(bridge_, relays_, stdio_relays::key(ns_, id_, exec_id));
    });
  }
  kj::Promise<void> delete_(DeleteContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<deleted_process>(ctx, task_delete{r.getExecId().cStr(), r.getForce()},
                                 [](auto resp, const deleted_process& d) {
                                   resp.setPid(d.pid);
                                   ac::fill(resp.initStatus(), d.status);
                                 });
  }
  kj::Promise<void> closeIo(CloseIoContext ctx) override {
    auto r = ctx.getParams().getReq();
    task_close_io close{r.getExecId().cStr(), r.getStdin()};
    if (relays_ && close.stdin) {
      // Not before the client's last bytes of stdin were written there.
      auto key = stdio_relays::key(ns_, id_, close.exec_id);
      return stdio_input_done(bridge_, relays_, key)
          .then([this, ctx, close = std::move(close)]() mutable {
            return call<void>(ctx, std::move(close), [](auto, caf::unit_t) {});
          });
    }
    return call<void>(ctx, std::move(close), [](auto, caf::unit_t) {});
  }
  kj::Promise<void> attach(AttachContext ctx) override {
    auto r = ctx.getParams().getReq();
    auto stdio = convert::from_wire(r.getStdio());
    if (auto refused = check_stdio(peer_, stdio)) return refuse(ctx, refused);
    return call_relayed<bool>(ctx, task_attach{r.getExecId().cStr(), std::move(stdio)},
                              [](auto resp, bool stdin_open) { resp.setStdinOpen(stdin_open); });
  }
  kj::Promise<void> resizePty(ResizePtyContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<void>(ctx, task_resize_pty{r.getExecId().cStr(), r.getWidth(), r.getHeight()},
                      [](auto, caf::unit_t) {});
  }
  kj::Promise<void> update(UpdateContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<void>(ctx, task_update{ac::from_wire(r.getResources())}, [](auto, caf::unit_t) {});
  }
  kj::Promise<void> metrics(MetricsContext ctx) override {
    return call<task_stats>(ctx, task_metrics{},
                            [](auto resp, const task_stats& s) { ac::fill(resp.initStats(), s); });
  }
  kj::Promise<void> checkpoint(CheckpointContext ctx) override {
    auto r = ctx.getParams().getReq();
    std::string path = r.getPath().cStr();
    if (auto refused = check_checkpoint_path(peer_, path, checkpoint_use::dump))
      return refuse(ctx, refused);
    return call<void>(ctx, task_checkpoint{std::move(path), r.getExit()}, [](auto, caf::unit_t) {});
  }
  kj::Promise<void> logs(LogsContext ctx) override;

 private:
  // Answers with `why` without asking the task (a path the client may not name).
  template <class Ctx>
  static kj::Promise<void> refuse(Ctx& ctx, const caf::error& why) {
    ac::fill(ctx.getResults().initResp().initError(), why);
    return kj::READY_NOW;
  }

  // `call` for a message that names stdio (an exec, an attach): for a task
  // on another node the stdio is relayed there first, and the relay ends
  // again if the call fails.
  template <class Reply, class Ctx, class Msg, class Ok>
  kj::Promise<void> call_relayed(Ctx ctx, Msg msg, Ok ok) {
    if (!relays_ || !names_paths(msg.stdio)) return call<Reply>(ctx, std::move(msg), ok);
    auto key = stdio_relays::key(ns_, id_, msg.exec_id);
    return open_stdio_relay(bridge_, relays_, key, msg.stdio)
        .then([this, ctx, key, msg = std::move(msg),
               ok](caf::expected<stdio_paths> there) mutable -> kj::Promise<void> {
          if (!there) return refuse(ctx, there.error());
          msg.stdio = std::move(*there);
          return call<Reply>(ctx, std::move(msg), ok).then([this, ctx, key]() mutable {
            if (ctx.getResults().getResp().hasError()) drop_stdio_relay(*relays_, key);
          });
        });
  }

  // Sends `msg` to the task; `ok(resp builder, reply)` fills a success.
  template <class Reply, class Ctx, class Msg, class Ok>
  kj::Promise<void> call(Ctx ctx, Msg msg, Ok ok) {
    auto current = bridge_.actors ? bridge_.actors->registry() : registry_actor{};
    if (current && current != registry_) find_again(current);
    if (found_) finding_ = nullptr;  // not from inside its own continuation
    KJ_IF_MAYBE (finding, finding_) {
      // Calls keep their order behind the lookup.
      return finding->addBranch().then([this, ctx, msg = std::move(msg), ok]() mutable {
        return send<Reply>(ctx, std::move(msg), ok);
      });
    }
    return send<Reply>(ctx, std::move(msg), ok);
  }

  template <class Reply, class Ctx, class Msg, class Ok>
  kj::Promise<void> send(Ctx ctx, Msg msg, Ok ok) {
    if (lookup_failed_) {
      answer(ctx, ok, caf::expected<reply_t<Reply>>{*lookup_failed_});
      return kj::READY_NOW;
    }
    return ask<Reply>(bridge_, task_, std::move(msg))
        .then([this, ctx, ok](caf::expected<reply_t<Reply>> r) mutable {
          answer(ctx, ok, std::move(r));
        });
  }

  // berthd's supervisor restarted the registry since this capability found
  // its task: the registry rebuilt the task as a new actor, and the one held
  // here has ended. The new registry knows it by name.
  void find_again(registry_actor current) {
    registry_ = current;
    found_ = false;
    finding_ = ask<task_handle>(bridge_, current, get_task_atom::value, ns_, id_)
                   .then([this](caf::expected<task_handle> h) {
                     found_ = true;
                     if (h) {
                       task_ = h->task;
                       lookup_failed_.reset();
                     } else {
                       lookup_failed_ = h.error();
                     }
                   })
                   .fork();
  }

  template <class Ctx, class Ok, class Expected>
  void answer(Ctx& ctx, Ok& ok, Expected r) {
    auto resp = ctx.getResults().initResp();
    if (!r) {
      ac::fill(resp.initError(), gone_or(r.error()));
      return;
    }
    if constexpr (std::is_same_v<Expected, caf::expected<caf::unit_t>>)
      ok(resp, caf::unit);  // CAF's expected<unit_t> holds no value
    else
      ok(resp, *r);
  }

  // An actor that had ended before the request reached it (CAF's own error,
  // which berth's errors map to unavailable).
  static bool gone(const caf::error& err) {
    return err.category() != error_category && error_code(err) == errc::unavailable;
  }

  // A task actor that has ended is a task that no longer exists.
  caf::error gone_or(const caf::error& err) const {
    if (gone(err))
      return make_error(errc::not_found, "task " + ns_ + "/" + id_ + " not found (it was deleted)");
    return err;
  }

  // The next batch of the log, from the file here or from a cursor on the
  // task's node.
  using log_batches = std::function<kj::Promise<std::vector<log_record>>()>;
  kj::Promise<void> stream_log(kj::Timer& timer, wire::api::LogSink::Client sink, log_batches next,
                               bool follow);
  kj::Promise<void> send_batch(kj::Timer& timer, wire::api::LogSink::Client sink, log_batches next,
                               bool follow, std::vector<log_record> batch);

  api_bridge bridge_;
  task_actor task_;
  std::string ns_, id_, log_path_;
  caf::actor log_node_;                   // without log_path_: the node actor of the task's node
  api_peer peer_;                         // the client, whose host paths are checked as its own
  std::shared_ptr<stdio_relays> relays_;  // for a task on another node
  // The registry that handed out task_ (see find_again).
  registry_actor registry_;
  kj::Maybe<kj::ForkedPromise<void>> finding_;
  bool found_ = false;
  std::optional<caf::error> lookup_failed_;  // the task was not found again
};

// Sends the log from where `reader` stands, a bounded batch at a time (the
// next batch is read once the client took this one, so a slow client never
// makes berthd hold more than a batch); with `follow`, keeps reading until
// the task has stopped and the log has no more. Lines are "TIME STREAM TAG
// TEXT" (CRI); task_log_reader.hpp parses them.
kj::Promise<void> task_service::stream_log(kj::Timer& timer, wire::api::LogSink::Client sink,
                                           log_batches next, bool follow) {
  return next().then([this, &timer, sink, next,
                      follow](std::vector<log_record> batch) mutable -> kj::Promise<void> {
    return send_batch(timer, kj::mv(sink), kj::mv(next), follow, kj::mv(batch));
  });
}

kj::Promise<void> task_service::send_batch(kj::Timer& timer, wire::api::LogSink::Client sink,
                                           log_batches next, bool follow,
                                           std::vector<log_record> batch) {
  if (!batch.empty()) {
    auto sends = kj::heapArrayBuilder<kj::Promise<void>>(batch.size());
    for (auto& r : batch) {
      auto req = sink.writeRequest();
      req.setStream(r.stream);
      req.setTimestamp(r.time_ns);
      req.setLine(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r.text.data()), r.text.size()));
      req.setPartial(r.partial);
      sends.add(req.send().ignoreResult());
    }
    return kj::joinPromises(sends.finish()).then([this, &timer, sink, next, follow]() mutable {
      return stream_log(timer, sink, next, follow);
    });
  }
  if (!follow) return kj::READY_NOW;
  return ask<task_info>(bridge_, task_, task_info_atom::value)
      .then([this, &timer, sink, next](caf::expected<task_info> i) mutable -> kj::Promise<void> {
        bool over = !i || i->status == task_status::stopped;
        if (over) return stream_log(timer, sink, next, false);
        return timer.afterDelay(200 * kj::MILLISECONDS).then([this, &timer, sink, next]() mutable {
          return stream_log(timer, sink, next, true);
        });
      });
}

kj::Promise<void> task_service::logs(LogsContext ctx) {
  auto r = ctx.getParams().getReq();
  auto& timer = *bridge_.timer;
  auto failed = [ctx, this](kj::Exception&& e) mutable {
    ac::fill(ctx.getResults().initResp().initError(),
             make_error(errc::unavailable, "cannot send the log of task " + ns_ + "/" + id_ + ": " +
                                               e.getDescription().cStr()));
  };
  std::int64_t since = r.getSince();
  auto tail = static_cast<std::uint64_t>(std::max<std::int64_t>(r.getTail(), 0));
  if (log_path_.empty()) {
    if (!log_node_) {
      ac::fill(ctx.getResults().initResp().initError(),
               make_error(errc::not_implemented,
                          "the log of task " + ns_ + "/" + id_ + " is on its node; read it there"));
      return kj::READY_NOW;
    }
    // The log is a file on the task's node: read there, batch by batch.
    return ask<log_cursor_actor>(bridge_, caf::actor_cast<node_actor>(log_node_),
                                 node_open_log_atom::value, ns_, id_, tail)
        .then([this, ctx, &timer, since, follow = r.getFollow()](
                  caf::expected<log_cursor_actor> cursor) mutable -> kj::Promise<void> {
          if (!cursor) {
            ac::fill(ctx.getResults().initResp().initError(), cursor.error());
            return kj::READY_NOW;
          }
          auto next = [this, cursor = *cursor, since] {
            return ask<std::vector<log_record>>(bridge_, cursor, log_next_atom::value,
                                                std::uint64_t{kLogBatchBytes}, since)
                .then([](caf::expected<std::vector<log_record>> batch) {
                  if (!batch)
                    kj::throwFatalException(
                        kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                      kj::heapString(error_message(batch.error()).c_str())));
                  return kj::mv(*batch);
                });
          };
          return stream_log(timer, ctx.getParams().getReq().getSink(), next, follow);
        })
        .catch_(kj::mv(failed));
  }
  auto reader = std::make_shared<task_log_reader>(log_path_);
  if (tail > 0) reader->tail(tail);
  if (reader->empty() && !r.getFollow()) return kj::READY_NOW;  // nothing logged yet
  auto next = [reader, since] {
    return kj::Promise<std::vector<log_record>>(reader->next(kLogBatchBytes, since));
  };
  return stream_log(timer, r.getSink(), next, r.getFollow()).catch_(kj::mv(failed));
}

}  // namespace

wire::api::Task::Client make_task_capability(api_bridge bridge, task_actor task, std::string ns,
                                             std::string id, std::string log_path,
                                             caf::actor log_node, api_peer peer,
                                             std::shared_ptr<stdio_relays> relays) {
  return kj::heap<task_service>(std::move(bridge), std::move(task), std::move(ns), std::move(id),
                                std::move(log_path), std::move(log_node), std::move(peer),
                                std::move(relays));
}

wire::api::Task::Client make_failed_task_capability(caf::error why) {
  auto message = "task was not created: " + error_message(why);
  return wire::api::Task::Client(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                               kj::heapString(message.c_str())));
}

}  // namespace berth
