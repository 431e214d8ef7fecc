// How berth's actors report failure: a caf::error in the "berth" category whose
// code is an `errc` and whose context holds one std::string, the message for a
// person. A caf::error crosses the CAF middleman like any other message, and
// the codes equal the ordinals of wire::ErrorCode (schema/types.capnp), so the
// API layer turns an actor's error into a wire error with a cast.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <cstdint>
#include <string>

namespace berth {

// Stable error classes; values are wire::ErrorCode ordinals (checked in errors.cpp).
enum class errc : std::uint8_t {
  ok = 0,  // never carried by a caf::error; what error_code() says of `none`
  not_found = 1,
  already_exists = 2,
  failed_precondition = 3,
  invalid_argument = 4,
  unavailable = 5,
  not_implemented = 6,
  internal = 7,
  deadline_exceeded = 8,
};

inline constexpr caf::atom_value error_category = caf::atom("berth");

// "not_found", "already_exists", ...
const char* to_string(errc code);

// The one way to build a berth error: every error names what failed and why.
caf::error make_error(errc code, std::string message);

// The berth code of any caf::error: its own for the berth category,
// deadline_exceeded for a request timeout, unavailable when the callee is gone,
// internal for anything else, ok for `none`.
errc error_code(const caf::error& err);

// The person-readable message: the berth message, else CAF's rendering.
std::string error_message(const caf::error& err);

// A berth error with every `from` in its message replaced by `to` (a file
// berthd opened, named as the client gave it); other errors as they are.
caf::error with_name_replaced(const caf::error& err, const std::string& from,
                              const std::string& to);

// Lets actor_system::render() print berth errors as "not_found: <message>".
void add_error_category(caf::actor_system_config& cfg);

}  // namespace berth
