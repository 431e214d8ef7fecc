// The one way a verb fails: a command_error carries what was being done and
// why, and main prints it as `berth: <what>: <why>` and exits 1. Verbs throw
// it instead of printing, so every failure looks the same and no verb has to
// remember the exit code.
#pragma once

#include <iostream>
#include <stdexcept>
#include <string>

#include "schema/types.capnp.h"

namespace berth::cli {

class command_error : public std::runtime_error {
 public:
  command_error(std::string what, std::string why)
      : std::runtime_error(what + ": " + why), what_(std::move(what)), why_(std::move(why)) {}

  const std::string& action() const { return what_; }
  const std::string& reason() const { return why_; }

 private:
  std::string what_;
  std::string why_;
};

// `berth: <what>: <why>` on stderr.
inline void print_error(const command_error& e) {
  std::cerr << "berth: " << e.action() << ": " << e.reason() << "\n";
}

// Throws a command_error when a response's `error` is set with a code other
// than ok. `what` names the operation and its object ("delete container web").
inline void check(bool has_error, wire::Error::Reader error, const std::string& what) {
  if (!has_error || error.getCode() == wire::ErrorCode::OK) return;
  std::string message = error.getMessage().cStr();
  if (message.empty())
    message =
        "failed without a message (code " + std::to_string(static_cast<int>(error.getCode())) + ")";
  throw command_error(what, message);
}

// check(resp.hasError(), resp.getError(), what) for any response struct.
template <typename Response>
void check(Response resp, const std::string& what) {
  check(resp.hasError(), resp.getError(), what);
}

}  // namespace berth::cli
