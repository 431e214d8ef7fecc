#include "shim/core/task_service.hpp"

#include <malloc.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace berth::shim {
namespace {

// A shim mostly sits idle for the life of its container, one per container:
// hand the pages that setting up the container dirtied back to the kernel
// so they stop counting as its private memory.
void release_free_memory() {
  malloc_trim(0);
}

template <typename Response>
void set_error(Response resp, const maybe_failure& f) {
  if (!f) return;
  auto e = resp.initError();
  e.setCode(f->code);
  e.setMessage(f->message);
}

stdio_paths to_paths(wire::Stdio::Reader s) {
  return {s.getStdin(), s.getStdout(), s.getStderr(), s.getTerminal(), s.getOpenStdin()};
}

void set_exit(wire::ExitStatus::Builder out, const exit_record& e) {
  out.setCode(e.code);
  out.setSignal(e.signal);
  out.setExitedAt(e.exited_at);
  out.setReason(e.reason);
}

// The OCI process fields an exec overrides; unset fields keep the container's.
std::string process_json(wire::ProcessSpec::Reader spec) {
  if (spec.hasOciJson() && spec.getOciJson().size() > 0) return spec.getOciJson();
  nlohmann::json p = nlohmann::json::object();
  p["args"] = nlohmann::json::array();
  for (auto a : spec.getArgs()) p["args"].push_back(std::string(a));
  if (spec.getEnv().size() > 0) {
    p["env"] = nlohmann::json::array();
    for (auto e : spec.getEnv()) p["env"].push_back(std::string(e));
  }
  if (spec.getCwd().size() > 0) p["cwd"] = std::string(spec.getCwd());
  if (spec.hasUser()) {
    auto u = spec.getUser();
    p["user"] = {{"uid", u.getUid()}, {"gid", u.getGid()}};
    if (u.getAdditionalGids().size() > 0) {
      p["user"]["additionalGids"] = nlohmann::json::array();
      for (auto g : u.getAdditionalGids()) p["user"]["additionalGids"].push_back(g);
    }
  }
  return p.dump();
}

}  // namespace

kj::Promise<void> task_service::create(CreateContext context) {
  auto req = context.getParams().getReq();
  // One shim, one task: a request naming another task or bundle is a mistake
  // the caller must hear about, not one to paper over with the shim's own.
  const auto& cfg = task_.config();
  std::string id = req.getId(), bundle = req.getBundle();
  maybe_failure wrong;
  if (!id.empty() && id != cfg.id) {
    wrong = failure{wire::ErrorCode::INVALID_ARGUMENT,
                    "cannot create task " + id + ": this shim serves task " + cfg.id};
  } else if (!bundle.empty() && bundle != cfg.bundle) {
    wrong = failure{wire::ErrorCode::INVALID_ARGUMENT, "cannot create task " + cfg.id +
                                                           ": this shim serves bundle " +
                                                           cfg.bundle + ", not " + bundle};
  }
  if (wrong) {
    set_error(context.getResults().initResp(), wrong);
    return kj::READY_NOW;
  }
  std::vector<mount_spec> mounts;
  for (auto m : req.getRootfs()) {
    mount_spec spec{m.getType(), m.getSource(), {}};
    for (auto o : m.getOptions()) spec.options.emplace_back(o);
    mounts.push_back(std::move(spec));
  }
  auto pid = kj::heap<pid_t>(0);
  pid_t& pid_ref = *pid;
  log_limits logs{req.getLogMaxSize(), req.getLogMaxFiles()};
  return task_
      .create(to_paths(req.getStdio()), std::move(mounts), req.getCheckpoint(), pid_ref, logs,
              req.getStart())
      .then([context, pid = kj::mv(pid)](maybe_failure f) mutable {
        auto resp = context.getResults().initResp();
        set_error(resp, f);
        resp.setPid(static_cast<uint32_t>(*pid));
      });
}

kj::Promise<void> task_service::start(StartContext context) {
  auto pid = kj::heap<pid_t>(0);
  pid_t& pid_ref = *pid;
  return task_.start(context.getParams().getReq().getExecId(), pid_ref)
      .then([context, pid = kj::mv(pid)](maybe_failure f) mutable {
        auto resp = context.getResults().initResp();
        set_error(resp, f);
        resp.setPid(static_cast<uint32_t>(*pid));
        release_free_memory();
      });
}

kj::Promise<void> task_service::state(StateContext context) {
  process_view v;
  auto f = task_.state(context.getParams().getReq().getExecId(), v);
  auto resp = context.getResults().initResp();
  set_error(resp, f);
  if (f) return kj::READY_NOW;
  resp.setId(task_.config().id);
  resp.setExecId(v.exec_id);
  resp.setBundle(task_.config().bundle);
  resp.setPid(static_cast<uint32_t>(v.pid));
  resp.setStatus(static_cast<wire::TaskStatus>(static_cast<uint16_t>(v.st)));
  auto s = resp.initStdio();
  s.setStdin(v.stdio.in);
  s.setStdout(v.stdio.out);
  s.setStderr(v.stdio.err);
  s.setTerminal(v.stdio.terminal);
  if (v.exit) set_exit(resp.initExitStatus(), *v.exit);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::pids(PidsContext context) {
  auto list = kj::heap<std::vector<process_entry>>();
  auto& ref = *list;
  return task_.pids(ref).then([context, list = kj::mv(list)](maybe_failure f) mutable {
    auto resp = context.getResults().initResp();
    set_error(resp, f);
    auto out = resp.initProcesses(static_cast<unsigned>(list->size()));
    for (unsigned i = 0; i < list->size(); ++i) {
      out[i].setPid(static_cast<uint32_t>((*list)[i].pid));
      out[i].setExecId((*list)[i].exec_id);
      out[i].setCommand((*list)[i].command);
    }
  });
}

kj::Promise<void> task_service::pause(PauseContext context) {
  return task_.pause().then(
      [context](maybe_failure f) mutable { set_error(context.getResults().initResp(), f); });
}

kj::Promise<void> task_service::resume(ResumeContext context) {
  return task_.resume().then(
      [context](maybe_failure f) mutable { set_error(context.getResults().initResp(), f); });
}

kj::Promise<void> task_service::kill(KillContext context) {
  auto req = context.getParams().getReq();
  return task_.kill(req.getExecId(), static_cast<int>(req.getSignal()), req.getAll())
      .then([context](maybe_failure f) mutable { set_error(context.getResults().initResp(), f); });
}

kj::Promise<void> task_service::exec(ExecContext context) {
  auto req = context.getParams().getReq();
  auto f = task_.exec(req.getExecId(), process_json(req.getSpec()), to_paths(req.getStdio()));
  set_error(context.getResults().initResp(), f);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::wait(WaitContext context) {
  auto status = kj::heap<exit_record>();
  auto& ref = *status;
  return task_.wait(context.getParams().getReq().getExecId(), ref)
      .then([context, status = kj::mv(status)](maybe_failure f) mutable {
        auto resp = context.getResults().initResp();
        set_error(resp, f);
        if (!f) set_exit(resp.initStatus(), *status);
      });
}

kj::Promise<void> task_service::delete_(DeleteContext context) {
  struct out_t {
    pid_t pid = 0;
    exit_record status;
  };
  auto out = kj::heap<out_t>();
  auto& ref = *out;
  return task_.remove(context.getParams().getReq().getExecId(), ref.pid, ref.status)
      .then([context, out = kj::mv(out)](maybe_failure f) mutable {
        auto resp = context.getResults().initResp();
        set_error(resp, f);
        if (f) return;
        resp.setPid(static_cast<uint32_t>(out->pid));
        set_exit(resp.initStatus(), out->status);
      });
}

kj::Promise<void> task_service::closeIo(CloseIoContext context) {
  auto f = task_.close_io(context.getParams().getReq().getExecId());
  set_error(context.getResults().initResp(), f);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::attach(AttachContext context) {
  auto req = context.getParams().getReq();
  bool stdin_open = false;
  auto f = task_.attach(req.getExecId(), to_paths(req.getStdio()), stdin_open);
  auto resp = context.getResults().initResp();
  set_error(resp, f);
  resp.setStdinOpen(stdin_open);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::resizePty(ResizePtyContext context) {
  auto req = context.getParams().getReq();
  auto f = task_.resize_pty(req.getExecId(), req.getWidth(), req.getHeight());
  set_error(context.getResults().initResp(), f);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::update(UpdateContext context) {
  auto r = context.getParams().getReq().getResources();
  auto json = runc::resources_json(r.getMemoryLimit(), r.getCpuQuota(), r.getCpuPeriod(),
                                   r.getCpuShares(), r.getPidsLimit());
  return task_.update(json).then(
      [context](maybe_failure f) mutable { set_error(context.getResults().initResp(), f); });
}

kj::Promise<void> task_service::stats(StatsContext context) {
  auto resp = context.getResults().initResp();
  auto f = task_.stats(resp.initStats());
  set_error(resp, f);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::checkpoint(CheckpointContext context) {
  auto req = context.getParams().getReq();
  return task_.checkpoint(req.getPath(), req.getExit()).then([context](maybe_failure f) mutable {
    set_error(context.getResults().initResp(), f);
  });
}

kj::Promise<void> task_service::shutdown(ShutdownContext context) {
  auto f = task_.shutdown(context.getParams().getReq().getNow());
  set_error(context.getResults().initResp(), f);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::connect(ConnectContext context) {
  auto resp = context.getResults().initResp();
  resp.setShimPid(static_cast<uint32_t>(getpid()));
  resp.setTaskPid(static_cast<uint32_t>(task_.init_pid()));
  resp.setVersion(kShimVersion);
  return kj::READY_NOW;
}

kj::Promise<void> task_service::subscribe(SubscribeContext context) {
  auto req = context.getParams().getReq();
  task_.events().subscribe(req.getSink(), req.getAfterSequence());
  context.getResults().initResp();
  return kj::READY_NOW;
}

}  // namespace berth::shim
