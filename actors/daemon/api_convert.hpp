// Between schema/api.capnp's readers and builders and the daemon's message
// structs. KJ thread only, stateless.
#pragma once

#include <caf/error.hpp>

#include "actors/daemon/daemon_messages.hpp"
#include "actors/daemon/events.hpp"
#include "schema/api.capnp.h"

namespace berth::api_convert {

label_map from_wire(capnp::List<wire::KeyValue>::Reader r);
void fill(capnp::List<wire::KeyValue>::Builder b, const label_map& x);
container_create from_wire(wire::api::CreateContainerRequest::Reader r);
shim_exec from_wire(wire::api::ExecRequest::Reader r);
resource_limits from_wire(wire::Resources::Reader r);

void fill(wire::api::ContainerInfo::Builder b, const container_record& x);
void fill(wire::api::TaskInfo::Builder b, const task_info& x);
void fill(wire::ExitStatus::Builder b, const exit_status& x);
void fill(wire::ProcessInfo::Builder b, const process_info& x);
void fill(wire::Stats::Builder b, const task_stats& x);
void fill(wire::Event::Builder b, const berth_event& x);
// Sets code and message from any caf::error (see actors/errors.hpp).
void fill(wire::Error::Builder b, const caf::error& err);

std::int64_t to_ns(caf::timestamp t);

}  // namespace berth::api_convert
