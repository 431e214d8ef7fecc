// Catch2 glue for the shim's integration tests: error codes print by name,
// and REQUIRE_OK/CHECK_ERROR read a response's `error` field.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "shim_harness.hpp"

namespace Catch {
template <>
struct StringMaker<berth::wire::ErrorCode> {
  static std::string convert(berth::wire::ErrorCode code) { return berth::test::code_name(code); }
};
}  // namespace Catch

// A KJ exception (a call without answer, a lost connection) shows its text.
CATCH_TRANSLATE_EXCEPTION(kj::Exception& e) {
  return e.getDescription().cStr();
}

// The call succeeded; on failure, its error message is shown.
#define REQUIRE_OK(resp)                                     \
  do {                                                       \
    auto shim_err_ = ::berth::test::error_of(resp);          \
    INFO(shim_err_.message);                                 \
    REQUIRE(shim_err_.code == ::berth::wire::ErrorCode::OK); \
  } while (0)

// The call failed with `expected_code` and a message containing `text`.
#define CHECK_ERROR(resp, expected_code, text)                                   \
  do {                                                                           \
    auto shim_err_ = ::berth::test::error_of(resp);                              \
    INFO(shim_err_.message);                                                     \
    CHECK(shim_err_.code == ::berth::wire::ErrorCode::expected_code);            \
    CHECK_THAT(shim_err_.message, Catch::Matchers::Contains(std::string(text))); \
  } while (0)
