// Linux capabilities by name, as users write them for --cap-add and
// --cap-drop: case-insensitive, with or without the "CAP_" prefix
// ("net_admin", "CAP_NET_ADMIN"), and "ALL" for every one. The CLI checks a
// flag's value here and berthd checks the request's, so a name means the same
// on both sides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

// Capabilities this table knows: CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40),
// numbered as in linux/capability.h.
inline constexpr int kCapabilityCount = 41;

// "CAP_CHOWN" for 0, …; nullptr outside [0, kCapabilityCount).
const char* capability_name(int number);

// The number of the capability `text` names; nullopt when it names none
// ("ALL" names none: see is_all_capabilities).
std::optional<int> capability_number(std::string_view text);

// "ALL", in any case.
bool is_all_capabilities(std::string_view text);

// nullopt when `text` names a capability or is ALL; else the rule it breaks,
// for a message that quotes the value itself:
//   not a Linux capability (a name from capabilities(7), as NET_ADMIN or CAP_NET_ADMIN, or ALL)
std::optional<std::string> capability_problem(std::string_view text);

}  // namespace berth
