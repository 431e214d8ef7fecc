// Between schema/shim.capnp's readers and builders and the plain structs of
// shim_messages.hpp. KJ thread only (it touches Cap'n Proto messages), but
// stateless.
#pragma once

#include <caf/error.hpp>

#include <string>

#include "actors/runtime/shim_messages.hpp"
#include "schema/shim.capnp.h"

namespace berth::convert {

// ---- requests out -----------------------------------------------------------

void fill(wire::Stdio::Builder b, const stdio_paths& x);
void fill(wire::shim::CreateRequest::Builder b, const std::string& id, const shim_create& x);
void fill(wire::shim::KillRequest::Builder b, const shim_kill& x);
void fill(wire::shim::ExecRequest::Builder b, const shim_exec& x);
void fill(wire::Resources::Builder b, const resource_limits& x);

// ---- responses in -----------------------------------------------------------

stdio_paths from_wire(wire::Stdio::Reader r);
exit_status from_wire(wire::ExitStatus::Reader r);
shim_status from_wire(wire::TaskStatus s);
shim_info from_wire(wire::shim::ConnectResponse::Reader r);
process_state from_wire(wire::shim::StateResponse::Reader r);
std::vector<process_info> from_wire(wire::shim::PidsResponse::Reader r);
deleted_process from_wire(wire::shim::DeleteResponse::Reader r);
task_stats from_wire(wire::Stats::Reader r);
shim_event from_wire(wire::Event::Reader r);

// The shim's error as a berth error with the same code and message; `none`
// when the response has no error (or code ok).
caf::error error_of(wire::Error::Reader e);

}  // namespace berth::convert
