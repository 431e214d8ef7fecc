#include "actors/daemon/api_convert.hpp"

#include "actors/errors.hpp"
#include "actors/runtime/wire_convert.hpp"

namespace berth::api_convert {

static_assert(static_cast<int>(task_status::created_checkpoint) ==
              static_cast<int>(wire::TaskStatus::CREATED_CHECKPOINT));
static_assert(static_cast<int>(task_status::stopped) ==
              static_cast<int>(wire::TaskStatus::STOPPED));

namespace {

std::vector<std::string> texts(capnp::List<capnp::Text>::Reader r) {
  std::vector<std::string> out;
  out.reserve(r.size());
  for (auto t : r) out.emplace_back(t.cStr());
  return out;
}

template <class List>
void fill_texts(List list, const std::vector<std::string>& xs) {
  for (unsigned i = 0; i < xs.size(); ++i) list.set(i, xs[i]);
}

}  // namespace

std::int64_t to_ns(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

label_map from_wire(capnp::List<wire::KeyValue>::Reader r) {
  label_map out;
  for (auto kv : r) out[kv.getKey().cStr()] = kv.getValue().cStr();
  return out;
}

void fill(capnp::List<wire::KeyValue>::Builder b, const label_map& x) {
  unsigned i = 0;
  for (auto& [k, v] : x) {
    b[i].setKey(k);
    b[i].setValue(v);
    ++i;
  }
}

container_create from_wire(wire::api::CreateContainerRequest::Reader r) {
  container_create c;
  c.ns = r.getNamespace().cStr();
  c.id = r.getId().cStr();
  c.image = r.getImage().cStr();
  c.runtime = r.getRuntime().cStr();
  c.labels = from_wire(r.getLabels());
  auto o = r.getOptions();
  auto p = o.getProcess();
  auto& x = c.options;
  x.args = texts(p.getArgs());
  x.env = texts(p.getEnv());
  x.cwd = p.getCwd().cStr();
  auto u = p.getUser();
  x.uid = u.getUid();
  x.gid = u.getGid();
  for (auto g : u.getAdditionalGids()) x.additional_gids.push_back(g);
  x.user = u.getName().cStr();
  x.terminal = p.getTerminal();
  for (auto m : o.getMounts())
    x.mounts.push_back(mount_spec{m.getType().cStr(), m.getSource().cStr(),
                                  m.getDestination().cStr(), texts(m.getOptions())});
  x.rootfs = o.getRootfs().cStr();
  x.net_host = o.getNetHost();
  x.readonly_rootfs = o.getReadonlyRootfs();
  x.memory_limit = o.getMemoryLimit();
  x.cpus = o.getCpus();
  x.hostname = o.getHostname().cStr();
  x.seccomp = o.getSeccomp().cStr();
  x.privileged = o.getPrivileged();
  x.pids_limit = o.getPidsLimit();
  x.log_max_size = o.getLogMaxSize();
  x.log_max_files = o.getLogMaxFiles();
  x.cap_add = texts(o.getCapAdd());
  x.cap_drop = texts(o.getCapDrop());
  for (auto d : o.getDevices())
    x.devices.push_back(device_mapping{d.getHostPath().cStr(), d.getContainerPath().cStr(),
                                       d.getPermissions().cStr()});
  return c;
}

shim_exec from_wire(wire::api::ExecRequest::Reader r) {
  shim_exec e;
  e.exec_id = r.getExecId().cStr();
  auto spec = r.getSpec();
  e.args = texts(spec.getArgs());
  e.env = texts(spec.getEnv());
  e.cwd = spec.getCwd().cStr();
  e.stdio = convert::from_wire(r.getStdio());
  e.stdio.terminal = e.stdio.terminal || spec.getTerminal();
  e.oci_process_json = spec.getOciJson().cStr();
  return e;
}

resource_limits from_wire(wire::Resources::Reader r) {
  return resource_limits{r.getMemoryLimit(), r.getCpuQuota(), r.getCpuPeriod(), r.getCpuShares(),
                         r.getPidsLimit()};
}

void fill(wire::api::ContainerInfo::Builder b, const container_record& x) {
  b.setId(x.id);
  b.setImage(x.image);
  b.setRuntime(x.runtime);
  b.setRuntimeOptions(x.runtime_options);
  b.setSpecJson(x.spec);
  b.setSnapshotKey(x.snapshot_key);
  fill(b.initLabels(static_cast<unsigned>(x.labels.size())), x.labels);
  b.setCreatedAt(to_ns(x.created_at));
  b.setUpdatedAt(to_ns(x.updated_at));
}

void fill(wire::ExitStatus::Builder b, const exit_status& x) {
  b.setCode(x.code);
  b.setSignal(x.signal);
  b.setExitedAt(to_ns(x.exited_at));
  b.setReason(x.reason);
}

void fill(wire::api::TaskInfo::Builder b, const task_info& x) {
  b.setId(x.id);
  b.setPid(x.pid);
  b.setStatus(static_cast<wire::TaskStatus>(x.status));
  fill(b.initExitStatus(), x.exit);
}

void fill(wire::ProcessInfo::Builder b, const process_info& x) {
  b.setPid(x.pid);
  b.setExecId(x.exec_id);
  b.setCommand(x.command);
}

void fill(wire::Stats::Builder b, const task_stats& x) {
  b.setMemoryUsage(x.memory_usage);
  b.setMemoryLimit(x.memory_limit);
  b.setCpuUsageNs(x.cpu_usage_ns);
  b.setPidsCurrent(x.pids_current);
  b.setPidsLimit(x.pids_limit);
}

void fill(wire::Event::Builder b, const berth_event& x) {
  b.setSequence(x.sequence);
  b.setNamespace(x.ns);
  b.setId(x.id);
  b.setTimestamp(to_ns(x.time));
  b.setTopic(x.topic);
  switch (x.kind) {
    case event_kind::task_create: {
      auto g = b.initTaskCreate();
      g.setPid(x.pid);
      g.setBundle(x.bundle);
      break;
    }
    case event_kind::task_start:
      b.initTaskStart().setPid(x.pid);
      break;
    case event_kind::task_exit: {
      auto g = b.initTaskExit();
      g.setExecId(x.exec_id);
      g.setPid(x.pid);
      fill(g.initStatus(), x.status);
      break;
    }
    case event_kind::task_oom:
      b.setTaskOom();
      break;
    case event_kind::task_paused:
      b.setTaskPaused();
      break;
    case event_kind::task_resumed:
      b.setTaskResumed();
      break;
    case event_kind::task_delete: {
      auto g = b.initTaskDelete();
      g.setPid(x.pid);
      fill(g.initStatus(), x.status);
      break;
    }
    case event_kind::task_exec_added:
      b.initTaskExecAdded().setExecId(x.exec_id);
      break;
    case event_kind::task_exec_started: {
      auto g = b.initTaskExecStarted();
      g.setExecId(x.exec_id);
      g.setPid(x.pid);
      break;
    }
    case event_kind::container_create: {
      auto g = b.initContainerCreate();
      g.setImage(x.image);
      g.setRuntime(x.runtime);
      break;
    }
    case event_kind::container_update:
      b.setContainerUpdate();
      break;
    case event_kind::container_delete:
      b.setContainerDelete();
      break;
    case event_kind::image_create: {
      auto g = b.initImageCreate();
      g.setName(x.name);
      g.setDigest(x.image);
      break;
    }
    case event_kind::image_update: {
      auto g = b.initImageUpdate();
      g.setName(x.name);
      g.setDigest(x.image);
      break;
    }
    case event_kind::image_delete:
      b.initImageDelete().setName(x.name);
      break;
    case event_kind::subscriber_too_slow: {
      auto g = b.initSubscriberTooSlow();
      g.setBehind(x.behind);
      g.setResumeSince(x.resume_since);
      g.setMessage(x.message);
      break;
    }
  }
}

void fill(wire::Error::Builder b, const caf::error& err) {
  b.setCode(static_cast<wire::ErrorCode>(error_code(err)));
  b.setMessage(error_message(err));
}

}  // namespace berth::api_convert
