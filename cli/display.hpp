// How values from the wire read to a person: task states in capitals as
// ctr prints them, times in RFC 3339, sizes in KiB/MiB, labels as k=v,k=v.
#pragma once

#include <string>

#include "schema/types.capnp.h"

namespace berth::cli {

std::string status_name(wire::TaskStatus status);

// RFC 3339 in UTC with nanoseconds trimmed: "2024-05-01T12:00:00.123456789Z".
// 0 (unset) becomes "".
std::string format_time(int64_t nanoseconds_since_epoch);

// "512 B", "1.5 KiB", "3.2 MiB", ...
std::string human_size(int64_t bytes);

// "k=v,k2=v2" in the wire's order; "-" when there are none (as ctr prints).
std::string labels_text(capnp::List<wire::KeyValue>::Reader labels);

}  // namespace berth::cli
