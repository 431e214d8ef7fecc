// The one Catch2 main every test executable links. It runs the session and
// turns "passed, but a case skipped" into the skip exit code
// (tests/support/skip.hpp), so ctest shows the skip instead of a pass.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "tests/support/skip.hpp"

namespace berth::test {
namespace {

std::string& program() {
  static std::string name = "test";
  return name;
}

std::set<std::string>& skips() {
  static std::set<std::string> reasons;
  return reasons;
}

}  // namespace

void record_skip(const std::string& reason) {
  std::string test = Catch::getResultCapture().getCurrentTestName();
  // A case with sections re-enters from the top: count it once.
  if (!skips().insert(test + ": " + reason).second) return;
  std::fprintf(stderr, "SKIPPED %s: %s\n", test.c_str(), reason.c_str());
  if (const char* log = std::getenv("BERTH_SKIP_LOG"); log && *log) {
    if (FILE* f = std::fopen(log, "a")) {
      std::fprintf(f, "%s: %s: %s\n", program().c_str(), test.c_str(), reason.c_str());
      std::fclose(f);
    }
  }
}

int skipped_cases() {
  return static_cast<int>(skips().size());
}

}  // namespace berth::test

int main(int argc, char* argv[]) {
  if (argc > 0) {
    std::string self = argv[0];
    berth::test::program() = self.substr(self.rfind('/') + 1);
  }
  int failed = Catch::Session().run(argc, argv);
  // 77 failures must not read as a skip.
  if (failed != 0) return failed == berth::test::kSkipExitCode ? 1 : failed;
  if (int n = berth::test::skipped_cases(); n > 0) {
    std::fprintf(stderr, "%d test case(s) skipped (exit code %d)\n", n, berth::test::kSkipExitCode);
    return berth::test::kSkipExitCode;
  }
  return 0;
}
