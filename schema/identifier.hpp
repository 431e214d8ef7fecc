// The identifier rule every berth process enforces on ids and namespaces
// before they become file names, socket paths or runc arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

// Longest id or namespace accepted; keeps <state>/<ns>/<id>/shim.sock short.
inline constexpr std::size_t kMaxIdentifierLength = 76;

// Returns nullopt when `value` is a valid identifier, else a message that names
// what was checked (`what`, e.g. "container id"), the value and the rule broken:
//   ^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$, at most 76 characters.
std::optional<std::string> check_identifier(std::string_view what, std::string_view value);

inline bool is_valid_identifier(std::string_view value) {
  return !check_identifier("identifier", value).has_value();
}

}  // namespace berth
