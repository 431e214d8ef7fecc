// How the images library reports failure: an exception whose message names
// what failed, on which object, and why, plus a kind the images actor turns
// into a berth errc (the wire's error code) without parsing text.
#pragma once

#include <stdexcept>
#include <string>

namespace berth::images {

enum class error_kind {
  invalid_argument,
  not_found,
  already_exists,
  failed_precondition,
  internal
};

class images_error : public std::runtime_error {
 public:
  images_error(error_kind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  error_kind kind() const { return kind_; }

 private:
  error_kind kind_;
};

// "<what>: <strerror(errno)>" as an internal images_error.
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace berth::images
