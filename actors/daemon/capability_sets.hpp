// The capabilities a container's process holds (its bounding, effective and
// permitted sets in config.json): containerd's default set, or with
// --privileged every capability berthd's own bounding set holds, with
// --cap-drop and --cap-add applied as Docker applies them:
//   - ALL in cap_add: berthd's whole bounding set, less cap_drop;
//   - else ALL in cap_drop: only cap_add;
//   - else the base set less cap_drop, plus cap_add (a name in both is kept).
// Pure: the bounding set is a parameter, so tests need no particular host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

// Bit n set: capability n (schema/capability_names.hpp) is in the set.
using capability_mask = std::uint64_t;

// containerd's default set.
capability_mask default_capabilities();

// The bounding set of this process (PR_CAPBSET_READ), which no container of
// it can exceed.
capability_mask own_bounding_set();

// The set for a container. Throws std::invalid_argument naming the field and
// the value:
//   capAdd "BOGUS": not a Linux capability (…)
//   capAdd "SYS_MODULE": berthd's own bounding set lacks CAP_SYS_MODULE, so no container can
//   hold it
capability_mask container_capabilities(bool privileged, const std::vector<std::string>& cap_add,
                                       const std::vector<std::string>& cap_drop,
                                       capability_mask bounding);

// The names of a set in capability order ("CAP_CHOWN", "CAP_DAC_OVERRIDE", …).
std::vector<std::string> capability_names(capability_mask caps);

}  // namespace berth
