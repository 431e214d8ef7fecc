#include "actors/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "schema/types.capnp.h"

namespace berth {

// The API layer relies on a cast between the two enums.
static_assert(static_cast<int>(errc::not_found) == static_cast<int>(wire::ErrorCode::NOT_FOUND));
static_assert(static_cast<int>(errc::already_exists) ==
              static_cast<int>(wire::ErrorCode::ALREADY_EXISTS));
static_assert(static_cast<int>(errc::failed_precondition) ==
              static_cast<int>(wire::ErrorCode::FAILED_PRECONDITION));
static_assert(static_cast<int>(errc::invalid_argument) ==
              static_cast<int>(wire::ErrorCode::INVALID_ARGUMENT));
static_assert(static_cast<int>(errc::unavailable) ==
              static_cast<int>(wire::ErrorCode::UNAVAILABLE));
static_assert(static_cast<int>(errc::not_implemented) ==
              static_cast<int>(wire::ErrorCode::NOT_IMPLEMENTED));
static_assert(static_cast<int>(errc::internal) == static_cast<int>(wire::ErrorCode::INTERNAL));
static_assert(static_cast<int>(errc::deadline_exceeded) ==
              static_cast<int>(wire::ErrorCode::DEADLINE_EXCEEDED));

namespace {

std::string context_message(const caf::message& ctx) {
  if (ctx.match_elements<std::string>()) return ctx.get_as<std::string>(0);
  return caf::to_string(ctx);
}

}  // namespace

const char* to_string(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::failed_precondition:
      return "failed_precondition";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::unavailable:
      return "unavailable";
    case errc::not_implemented:
      return "not_implemented";
    case errc::internal:
      return "internal";
    case errc::deadline_exceeded:
      return "deadline_exceeded";
  }
  return "internal";
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

errc error_code(const caf::error& err) {
  if (!err) return errc::ok;
  if (err.category() == error_category) {
    // 0 (ok) is no failure class; a non-empty error carrying it is a bug.
    if (err.code() > 0 && err.code() <= static_cast<std::uint8_t>(errc::deadline_exceeded))
      return static_cast<errc>(err.code());
    return errc::internal;
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return errc::deadline_exceeded;
      case caf::sec::request_receiver_down:
      case caf::sec::no_route_to_receiving_node:
      case caf::sec::cannot_connect_to_node:
        return errc::unavailable;
      default:
        break;
    }
  }
  return errc::internal;
}

std::string error_message(const caf::error& err) {
  if (!err) return {};
  if (err.category() == error_category) return context_message(err.context());
  return caf::to_string(err);
}

caf::error with_name_replaced(const caf::error& err, const std::string& from,
                              const std::string& to) {
  if (!err || err.category() != error_category || from.empty()) return err;
  auto message = error_message(err);
  for (auto at = message.find(from); at != std::string::npos;
       at = message.find(from, at + to.size()))
    message.replace(at, from.size(), to);
  return make_error(error_code(err), std::move(message));
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
      error_category, [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
        return std::string{to_string(static_cast<errc>(code))} + ": " + context_message(ctx);
      });
}

}  // namespace berth
