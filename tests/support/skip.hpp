// A test that cannot run here says so, and ctest counts it as skipped
// instead of passed. BERTH_SKIP("CRIU cannot run on this kernel: " << why)
// records the reason and returns from the test case; the other cases of the
// executable still run. When every case that ran passed but one skipped,
// catch_main exits with kSkipExitCode, which berth_test() registers as
// ctest's SKIP_RETURN_CODE. Each reason is printed and, when
// $BERTH_SKIP_LOG names a file, appended to it ("test: reason"), so
// scripts/test can refuse any reason this machine does not impose.
#pragma once

#include <sstream>
#include <string>

namespace berth::test {

inline constexpr int kSkipExitCode = 77;

// Records that the current test case skips, and why.
void record_skip(const std::string& reason);
// How many test cases skipped so far.
int skipped_cases();

}  // namespace berth::test

#define BERTH_SKIP(reason)                             \
  do {                                                 \
    std::ostringstream berth_skip_why_;                \
    berth_skip_why_ << reason;                         \
    ::berth::test::record_skip(berth_skip_why_.str()); \
    return;                                            \
  } while (0)
