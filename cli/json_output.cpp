#include "cli/json_output.hpp"

#include "cli/display.hpp"

namespace berth::cli {
namespace {

using nlohmann::json;

json labels_json(capnp::List<wire::KeyValue>::Reader labels) {
  auto object = json::object();
  for (auto kv : labels) object[kv.getKey().cStr()] = kv.getValue().cStr();
  return object;
}

// The spec is JSON already; embed it, or keep the text if it is not JSON
// (then a person still sees what the daemon sent).
json embedded_json(capnp::Text::Reader text) {
  if (text.size() == 0) return nullptr;
  auto parsed = json::parse(text.begin(), text.end(), nullptr, false);
  if (parsed.is_discarded()) return text.cStr();
  return parsed;
}

}  // namespace

json to_json(wire::api::ContainerInfo::Reader c) {
  return {{"id", c.getId().cStr()},
          {"image", c.getImage().cStr()},
          {"runtime", c.getRuntime().cStr()},
          {"runtime_options", embedded_json(c.getRuntimeOptions())},
          {"snapshot_key", c.getSnapshotKey().cStr()},
          {"labels", labels_json(c.getLabels())},
          {"created_at", format_time(c.getCreatedAt())},
          {"updated_at", format_time(c.getUpdatedAt())},
          {"spec", embedded_json(c.getSpecJson())}};
}

json to_json(wire::ExitStatus::Reader s) {
  json out = {{"code", s.getCode()},
              {"signal", s.getSignal()},
              {"exited_at", format_time(s.getExitedAt())}};
  if (s.getReason().size() > 0) out["reason"] = s.getReason().cStr();
  return out;
}

json to_json(wire::api::TaskInfo::Reader t) {
  json out = {
      {"id", t.getId().cStr()}, {"pid", t.getPid()}, {"status", status_name(t.getStatus())}};
  if (t.getStatus() == wire::TaskStatus::STOPPED && t.hasExitStatus()) {
    out["exit_status"] = to_json(t.getExitStatus());
  }
  // Why berth cannot tell the status (its shim does not answer).
  if (t.getStatus() == wire::TaskStatus::UNKNOWN && t.hasExitStatus() &&
      t.getExitStatus().getReason().size() > 0) {
    out["reason"] = t.getExitStatus().getReason().cStr();
  }
  return out;
}

json to_json(wire::api::ImageInfo::Reader i) {
  return {{"name", i.getName().cStr()},
          {"digest", i.getDigest().cStr()},
          {"media_type", i.getMediaType().cStr()},
          {"size", i.getSize()},
          {"labels", labels_json(i.getLabels())},
          {"created_at", format_time(i.getCreatedAt())}};
}

json to_json(wire::api::NamespaceInfo::Reader n) {
  return {{"name", n.getName().cStr()}, {"labels", labels_json(n.getLabels())}};
}

json to_json(wire::api::NodeInfo::Reader n) {
  return {{"name", n.getName().cStr()},
          {"address", n.getAddress().cStr()},
          {"up", n.getUp()},
          {"reason", n.getReason().cStr()},
          {"containers", n.getContainers()},
          {"tasks", n.getTasks()}};
}

json to_json(wire::ProcessInfo::Reader p) {
  return {
      {"pid", p.getPid()}, {"exec_id", p.getExecId().cStr()}, {"command", p.getCommand().cStr()}};
}

json to_json(wire::Stats::Reader s) {
  return {{"memory_usage", s.getMemoryUsage()},
          {"memory_limit", s.getMemoryLimit()},
          {"cpu_usage_ns", s.getCpuUsageNs()},
          {"pids_current", s.getPidsCurrent()},
          {"pids_limit", s.getPidsLimit()}};
}

json event_fields(wire::Event::Reader e) {
  switch (e.which()) {
    case wire::Event::TASK_CREATE:
      return {{"pid", e.getTaskCreate().getPid()},
              {"bundle", e.getTaskCreate().getBundle().cStr()}};
    case wire::Event::TASK_START:
      return {{"pid", e.getTaskStart().getPid()}};
    case wire::Event::TASK_EXIT: {
      auto x = e.getTaskExit();
      return {{"exec_id", x.getExecId().cStr()},
              {"pid", x.getPid()},
              {"exit_status", to_json(x.getStatus())}};
    }
    case wire::Event::TASK_DELETE: {
      auto d = e.getTaskDelete();
      return {{"pid", d.getPid()}, {"exit_status", to_json(d.getStatus())}};
    }
    case wire::Event::TASK_EXEC_ADDED:
      return {{"exec_id", e.getTaskExecAdded().getExecId().cStr()}};
    case wire::Event::TASK_EXEC_STARTED:
      return {{"exec_id", e.getTaskExecStarted().getExecId().cStr()},
              {"pid", e.getTaskExecStarted().getPid()}};
    case wire::Event::CONTAINER_CREATE:
      return {{"image", e.getContainerCreate().getImage().cStr()},
              {"runtime", e.getContainerCreate().getRuntime().cStr()}};
    case wire::Event::IMAGE_CREATE:
      return {{"name", e.getImageCreate().getName().cStr()},
              {"digest", e.getImageCreate().getDigest().cStr()}};
    case wire::Event::IMAGE_UPDATE:
      return {{"name", e.getImageUpdate().getName().cStr()},
              {"digest", e.getImageUpdate().getDigest().cStr()}};
    case wire::Event::IMAGE_DELETE:
      return {{"name", e.getImageDelete().getName().cStr()}};
    case wire::Event::SUBSCRIBER_TOO_SLOW: {
      auto x = e.getSubscriberTooSlow();
      return {{"behind", x.getBehind()},
              {"resume_since", x.getResumeSince()},
              {"message", x.getMessage().cStr()}};
    }
    case wire::Event::TASK_OOM:
    case wire::Event::TASK_PAUSED:
    case wire::Event::TASK_RESUMED:
    case wire::Event::CONTAINER_UPDATE:
    case wire::Event::CONTAINER_DELETE:
      break;
  }
  return json::object();
}

}  // namespace berth::cli
