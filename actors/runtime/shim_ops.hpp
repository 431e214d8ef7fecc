// The shim's operations as one table: for each request message of
// shim_messages.hpp, one specialisation of shim_op says how that operation
// crosses the wire. Internal to actors/runtime (it touches Cap'n Proto).
//
// Everything else is generated from this table and shim_op_list: the link's
// one `call<Msg>` (shim_link.hpp) and the proxy's handlers (shim_proxy.cpp).
// A new operation is its message, its line in shim_proxy_actor, and an entry
// here; a message without an entry does not compile as an operation.
//
// Each entry says:
//   name      the operation in error texts ("... did not answer state within 5s")
//   deadline  which of the proxy's deadlines bounds it
//   reply     what the proxy answers (void: nothing but success)
//   request   the Cap'n Proto request of the Task method
//   fill      its `req` from the message
//   read      the reply from the shim's response (only where reply is not void)
#pragma once

#include <kj/async.h>
#include <caf/detail/type_list.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "actors/runtime/shim_messages.hpp"
#include "actors/runtime/wire_convert.hpp"
#include "schema/shim.capnp.h"

namespace berth {

// Which deadline bounds a call (shim_proxy_config).
enum class deadline_class {
  normal,   // `deadline`
  command,  // runs the OCI runtime: the longer of `deadline` and `command_deadline`
  none,     // answers when a process exits, however late that is
};

// What a request may need from its link besides the message itself.
class shim_call_context {
 public:
  // The task the link speaks for (create names its container).
  virtual const std::string& task_id() const = 0;
  // A fresh EventSink whose publish calls reach the proxy (subscribe).
  virtual wire::EventSink::Client new_event_sink() = 0;

 protected:
  ~shim_call_context() = default;
};

using shim_task = wire::shim::Task;

// Left undefined: only the messages below are operations.
template <class Msg>
struct shim_op;

template <>
struct shim_op<shim_connect> {
  static constexpr const char* name = "connect";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = shim_info;
  static auto request(shim_task::Client& t) { return t.connectRequest(); }
  static void fill(auto, const shim_connect&, shim_call_context&) {}
  static reply read(auto ok) { return convert::from_wire(ok); }
};

template <>
struct shim_op<shim_create> {
  static constexpr const char* name = "create";
  static constexpr deadline_class deadline = deadline_class::command;
  using reply = std::uint32_t;  // init pid
  static auto request(shim_task::Client& t) { return t.createRequest(); }
  static void fill(auto b, const shim_create& x, shim_call_context& c) {
    convert::fill(b, c.task_id(), x);
  }
  static reply read(auto ok) { return ok.getPid(); }
};

template <>
struct shim_op<shim_start> {
  static constexpr const char* name = "start";
  static constexpr deadline_class deadline = deadline_class::command;
  using reply = std::uint32_t;  // pid
  static auto request(shim_task::Client& t) { return t.startRequest(); }
  static void fill(auto b, const shim_start& x, shim_call_context&) { b.setExecId(x.exec_id); }
  static reply read(auto ok) { return ok.getPid(); }
};

template <>
struct shim_op<shim_state> {
  static constexpr const char* name = "state";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = process_state;
  static auto request(shim_task::Client& t) { return t.stateRequest(); }
  static void fill(auto b, const shim_state& x, shim_call_context&) { b.setExecId(x.exec_id); }
  static reply read(auto ok) { return convert::from_wire(ok); }
};

template <>
struct shim_op<shim_pids> {
  static constexpr const char* name = "pids";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = std::vector<process_info>;
  static auto request(shim_task::Client& t) { return t.pidsRequest(); }
  static void fill(auto, const shim_pids&, shim_call_context&) {}
  static reply read(auto ok) { return convert::from_wire(ok); }
};

template <>
struct shim_op<shim_pause> {
  static constexpr const char* name = "pause";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.pauseRequest(); }
  static void fill(auto, const shim_pause&, shim_call_context&) {}
};

template <>
struct shim_op<shim_resume> {
  static constexpr const char* name = "resume";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.resumeRequest(); }
  static void fill(auto, const shim_resume&, shim_call_context&) {}
};

template <>
struct shim_op<shim_kill> {
  static constexpr const char* name = "kill";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.killRequest(); }
  static void fill(auto b, const shim_kill& x, shim_call_context&) { convert::fill(b, x); }
};

template <>
struct shim_op<shim_exec> {
  static constexpr const char* name = "exec";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.execRequest(); }
  static void fill(auto b, const shim_exec& x, shim_call_context&) { convert::fill(b, x); }
};

template <>
struct shim_op<shim_wait> {
  static constexpr const char* name = "wait";
  static constexpr deadline_class deadline = deadline_class::none;
  using reply = exit_status;
  static auto request(shim_task::Client& t) { return t.waitRequest(); }
  static void fill(auto b, const shim_wait& x, shim_call_context&) { b.setExecId(x.exec_id); }
  static reply read(auto ok) { return convert::from_wire(ok.getStatus()); }
};

template <>
struct shim_op<shim_delete> {
  static constexpr const char* name = "delete";
  static constexpr deadline_class deadline = deadline_class::command;
  using reply = deleted_process;
  static auto request(shim_task::Client& t) { return t.deleteRequest(); }
  static void fill(auto b, const shim_delete& x, shim_call_context&) { b.setExecId(x.exec_id); }
  static reply read(auto ok) { return convert::from_wire(ok); }
};

template <>
struct shim_op<shim_close_io> {
  static constexpr const char* name = "closeIo";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.closeIoRequest(); }
  static void fill(auto b, const shim_close_io& x, shim_call_context&) {
    b.setExecId(x.exec_id);
    b.setStdin(x.stdin);
  }
};

template <>
struct shim_op<shim_attach> {
  static constexpr const char* name = "attach";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = bool;  // stdin still open
  static auto request(shim_task::Client& t) { return t.attachRequest(); }
  static void fill(auto b, const shim_attach& x, shim_call_context&) {
    b.setExecId(x.exec_id);
    convert::fill(b.initStdio(), x.stdio);
  }
  static reply read(auto ok) { return ok.getStdinOpen(); }
};

template <>
struct shim_op<shim_resize_pty> {
  static constexpr const char* name = "resizePty";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.resizePtyRequest(); }
  static void fill(auto b, const shim_resize_pty& x, shim_call_context&) {
    b.setExecId(x.exec_id);
    b.setWidth(x.width);
    b.setHeight(x.height);
  }
};

template <>
struct shim_op<shim_update> {
  static constexpr const char* name = "update";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.updateRequest(); }
  static void fill(auto b, const shim_update& x, shim_call_context&) {
    convert::fill(b.initResources(), x.resources);
  }
};

template <>
struct shim_op<shim_stats> {
  static constexpr const char* name = "stats";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = task_stats;
  static auto request(shim_task::Client& t) { return t.statsRequest(); }
  static void fill(auto, const shim_stats&, shim_call_context&) {}
  static reply read(auto ok) { return convert::from_wire(ok.getStats()); }
};

template <>
struct shim_op<shim_checkpoint> {
  static constexpr const char* name = "checkpoint";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.checkpointRequest(); }
  static void fill(auto b, const shim_checkpoint& x, shim_call_context&) {
    b.setPath(x.path);
    b.setExit(x.exit);
  }
};

template <>
struct shim_op<shim_shutdown> {
  static constexpr const char* name = "shutdown";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.shutdownRequest(); }
  static void fill(auto b, const shim_shutdown& x, shim_call_context&) { b.setNow(x.now); }
};

template <>
struct shim_op<shim_subscribe> {
  static constexpr const char* name = "subscribe";
  static constexpr deadline_class deadline = deadline_class::normal;
  using reply = void;
  static auto request(shim_task::Client& t) { return t.subscribeRequest(); }
  static void fill(auto b, const shim_subscribe& x, shim_call_context& c) {
    b.setSink(c.new_event_sink());
    b.setAfterSequence(x.after_sequence);
  }
};

// Every operation, in shim_proxy_actor's order. The proxy's behavior is
// built from this list, so a missing entry fails to compile there.
using shim_op_list =
    caf::detail::type_list<shim_connect, shim_create, shim_start, shim_state, shim_pids, shim_pause,
                           shim_resume, shim_kill, shim_exec, shim_wait, shim_delete, shim_close_io,
                           shim_attach, shim_resize_pty, shim_update, shim_stats, shim_checkpoint,
                           shim_shutdown, shim_subscribe>;

template <class Msg>
using shim_reply_t = typename shim_op<Msg>::reply;

// Sends `x` on `task` and makes the answer the link hands back: the shim's
// own error when it reported one, else the reply (an empty message for
// void). A malformed response throws (wire_convert), failing the call.
template <class Msg>
kj::Promise<caf::message> send_op(shim_task::Client& task, const Msg& x, shim_call_context& c) {
  using op = shim_op<Msg>;
  auto req = op::request(task);
  op::fill(req.initReq(), x, c);
  return req.send().then([](auto r) {
    auto resp = r.getResp();
    if (resp.hasError()) {
      if (auto err = convert::error_of(resp.getError())) return caf::make_message(std::move(err));
    }
    if constexpr (std::is_void_v<typename op::reply>) {
      return caf::make_message();
    } else {
      return caf::make_message(op::read(resp));
    }
  });
}

}  // namespace berth
