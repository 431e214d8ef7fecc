// JSON for --format json and `berth c info`: the wire's structs with
// snake_case keys, times in RFC 3339, labels as an object, and a container's
// OCI spec embedded as JSON (not as a string), as ctr's `c info` shows it.
#pragma once

#include <nlohmann/json.hpp>

#include "schema/api.capnp.h"

namespace berth::cli {

nlohmann::json to_json(wire::api::ContainerInfo::Reader container);
nlohmann::json to_json(wire::api::TaskInfo::Reader task);
nlohmann::json to_json(wire::api::ImageInfo::Reader image);
nlohmann::json to_json(wire::api::NamespaceInfo::Reader ns);
nlohmann::json to_json(wire::api::NodeInfo::Reader node);
nlohmann::json to_json(wire::ProcessInfo::Reader process);
nlohmann::json to_json(wire::ExitStatus::Reader status);
nlohmann::json to_json(wire::Stats::Reader stats);
// The event's own fields (pid, exit status, image name, …), without the
// envelope (sequence, namespace, id, time, topic).
nlohmann::json event_fields(wire::Event::Reader event);

// A list of objects as a JSON array.
template <typename List>
nlohmann::json to_json_array(List list) {
  auto array = nlohmann::json::array();
  for (auto item : list) array.push_back(to_json(item));
  return array;
}

}  // namespace berth::cli
