#include "actors/runtime/wire_convert.hpp"

#include <kj/exception.h>

#include "actors/errors.hpp"
#include "actors/runtime/wire_text.hpp"

namespace berth::convert {

static_assert(static_cast<int>(shim_status::created) ==
              static_cast<int>(wire::TaskStatus::CREATED));
static_assert(static_cast<int>(shim_status::running) ==
              static_cast<int>(wire::TaskStatus::RUNNING));
static_assert(static_cast<int>(shim_status::paused) == static_cast<int>(wire::TaskStatus::PAUSED));
static_assert(static_cast<int>(shim_status::stopped) ==
              static_cast<int>(wire::TaskStatus::STOPPED));
static_assert(static_cast<int>(shim_status::created_checkpoint) ==
              static_cast<int>(wire::TaskStatus::CREATED_CHECKPOINT));
static_assert(static_cast<int>(shim_status::deleted) ==
              static_cast<int>(wire::TaskStatus::DELETED));

namespace {

template <class List>
void fill_texts(List list, const std::vector<std::string>& xs) {
  for (unsigned i = 0; i < xs.size(); ++i) list.set(i, xs[i]);
}

// A shim is trusted to run containers, not to send well-formed text: what it
// answers is checked like a client's request. A bad string is thrown as a
// kj::Exception from the KJ callback that reads the answer; shim_link turns
// that into an error value for that one call ("shim ... failed state: broken
// shim: ..."), and a bad event is refused to the shim's publish call, so
// nothing malformed reaches an actor and no exception does either.
constexpr std::size_t kMaxShimText = 64 * 1024;     // ids, paths, commands, messages
constexpr std::size_t kMaxShimProcesses = 1 << 16;  // entries of one pids answer

[[noreturn]] void broken_shim(const char* field, const std::string& why) {
  kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                        kj::str("broken shim: ", field, ": ", why.c_str())));
}

std::string text(capnp::Text::Reader t, const char* field) {
  std::string_view s(t.begin(), t.size());
  auto why = wire_text::problem(s, kMaxShimText);
  if (!why.empty()) broken_shim(field, why);
  return std::string(s);
}

caf::timestamp from_ns(std::int64_t ns) {
  return caf::timestamp{caf::timespan{ns}};
}

}  // namespace

void fill(wire::Stdio::Builder b, const stdio_paths& x) {
  b.setStdin(x.in);
  b.setStdout(x.out);
  b.setStderr(x.err);
  b.setTerminal(x.terminal);
  b.setOpenStdin(x.open_stdin);
}

void fill(wire::shim::CreateRequest::Builder b, const std::string& id, const shim_create& x) {
  b.setId(id);
  b.setBundle(x.bundle);
  fill(b.initStdio(), x.stdio);
  auto mounts = b.initRootfs(static_cast<unsigned>(x.rootfs.size()));
  for (unsigned i = 0; i < x.rootfs.size(); ++i) {
    const auto& m = x.rootfs[i];
    auto out = mounts[i];
    out.setType(m.type);
    out.setSource(m.source);
    out.setDestination(m.destination);
    fill_texts(out.initOptions(static_cast<unsigned>(m.options.size())), m.options);
  }
  b.setCheckpoint(x.checkpoint);
  b.setLogMaxSize(x.log_max_size);
  b.setLogMaxFiles(x.log_max_files);
  b.setStart(x.start);
}

void fill(wire::shim::KillRequest::Builder b, const shim_kill& x) {
  b.setExecId(x.exec_id);
  b.setSignal(x.signal);
  b.setAll(x.all);
}

void fill(wire::shim::ExecRequest::Builder b, const shim_exec& x) {
  b.setExecId(x.exec_id);
  auto spec = b.initSpec();
  fill_texts(spec.initArgs(static_cast<unsigned>(x.args.size())), x.args);
  fill_texts(spec.initEnv(static_cast<unsigned>(x.env.size())), x.env);
  spec.setCwd(x.cwd);
  spec.setTerminal(x.stdio.terminal);
  spec.setOciJson(x.oci_process_json);
  fill(b.initStdio(), x.stdio);
}

void fill(wire::Resources::Builder b, const resource_limits& x) {
  b.setMemoryLimit(x.memory_limit);
  b.setCpuQuota(x.cpu_quota);
  b.setCpuPeriod(x.cpu_period);
  b.setCpuShares(x.cpu_shares);
  b.setPidsLimit(x.pids_limit);
}

stdio_paths from_wire(wire::Stdio::Reader r) {
  return {text(r.getStdin(), "stdio.stdin"), text(r.getStdout(), "stdio.stdout"),
          text(r.getStderr(), "stdio.stderr"), r.getTerminal(), r.getOpenStdin()};
}

exit_status from_wire(wire::ExitStatus::Reader r) {
  return {r.getCode(), r.getSignal(), from_ns(r.getExitedAt()),
          text(r.getReason(), "exit status reason")};
}

shim_status from_wire(wire::TaskStatus s) {
  auto v = static_cast<unsigned>(s);
  // A status added to the schema after this build reads as unknown.
  return v <= static_cast<unsigned>(shim_status::deleted) ? static_cast<shim_status>(v)
                                                          : shim_status::unknown;
}

shim_info from_wire(wire::shim::ConnectResponse::Reader r) {
  return {r.getShimPid(), r.getTaskPid(), text(r.getVersion(), "version")};
}

process_state from_wire(wire::shim::StateResponse::Reader r) {
  process_state s;
  s.id = text(r.getId(), "state id");
  s.exec_id = text(r.getExecId(), "state execId");
  s.bundle = text(r.getBundle(), "state bundle");
  s.pid = r.getPid();
  s.status = from_wire(r.getStatus());
  s.stdio = from_wire(r.getStdio());
  if (r.hasExitStatus()) s.exit = from_wire(r.getExitStatus());
  return s;
}

std::vector<process_info> from_wire(wire::shim::PidsResponse::Reader r) {
  std::vector<process_info> out;
  auto ps = r.getProcesses();
  if (ps.size() > kMaxShimProcesses)
    broken_shim("pids answer", "lists " + std::to_string(ps.size()) + " processes (limit " +
                                   std::to_string(kMaxShimProcesses) + ")");
  out.reserve(ps.size());
  for (auto p : ps)
    out.push_back({p.getPid(), text(p.getExecId(), "process execId"),
                   text(p.getCommand(), "process command")});
  return out;
}

deleted_process from_wire(wire::shim::DeleteResponse::Reader r) {
  return {r.getPid(), r.hasStatus() ? from_wire(r.getStatus()) : exit_status{}};
}

task_stats from_wire(wire::Stats::Reader r) {
  return {r.getMemoryUsage(), r.getMemoryLimit(), r.getCpuUsageNs(), r.getPidsCurrent(),
          r.getPidsLimit()};
}

shim_event from_wire(wire::Event::Reader r) {
  shim_event e;
  e.sequence = r.getSequence();
  e.ns = text(r.getNamespace(), "event namespace");
  e.id = text(r.getId(), "event id");
  e.time = from_ns(r.getTimestamp());
  e.topic = text(r.getTopic(), "event topic");
  switch (r.which()) {
    case wire::Event::TASK_CREATE:
      e.kind = shim_event_kind::task_create;
      e.pid = r.getTaskCreate().getPid();
      e.bundle = text(r.getTaskCreate().getBundle(), "event bundle");
      break;
    case wire::Event::TASK_START:
      e.kind = shim_event_kind::task_start;
      e.pid = r.getTaskStart().getPid();
      break;
    case wire::Event::TASK_EXIT:
      e.kind = shim_event_kind::task_exit;
      e.exec_id = text(r.getTaskExit().getExecId(), "event execId");
      e.pid = r.getTaskExit().getPid();
      e.status = from_wire(r.getTaskExit().getStatus());
      break;
    case wire::Event::TASK_OOM:
      e.kind = shim_event_kind::task_oom;
      break;
    case wire::Event::TASK_PAUSED:
      e.kind = shim_event_kind::task_paused;
      break;
    case wire::Event::TASK_RESUMED:
      e.kind = shim_event_kind::task_resumed;
      break;
    case wire::Event::TASK_DELETE:
      e.kind = shim_event_kind::task_delete;
      e.pid = r.getTaskDelete().getPid();
      e.status = from_wire(r.getTaskDelete().getStatus());
      break;
    case wire::Event::TASK_EXEC_ADDED:
      e.kind = shim_event_kind::task_exec_added;
      e.exec_id = text(r.getTaskExecAdded().getExecId(), "event execId");
      break;
    case wire::Event::TASK_EXEC_STARTED:
      e.kind = shim_event_kind::task_exec_started;
      e.exec_id = text(r.getTaskExecStarted().getExecId(), "event execId");
      e.pid = r.getTaskExecStarted().getPid();
      break;
    default:
      // Container and image events never come from a shim; a newer arm is
      // passed on by topic.
      e.kind = shim_event_kind::other;
      break;
  }
  return e;
}

caf::error error_of(wire::Error::Reader e) {
  auto code = static_cast<unsigned>(e.getCode());
  if (code == 0) return caf::none;
  // A code added to the schema after this build is still a failure.
  auto berth_code = code <= static_cast<unsigned>(errc::deadline_exceeded) ? static_cast<errc>(code)
                                                                           : errc::internal;
  return make_error(berth_code, text(e.getMessage(), "error message"));
}

}  // namespace berth::convert
