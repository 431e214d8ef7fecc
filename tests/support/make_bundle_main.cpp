// berth-test-bundle DIR [--terminal] [--readonly] [--env K=V]... [-- ARGS...]
// Writes a busybox OCI bundle into DIR for scripts and benchmarks.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "tests/support/busybox_bundle.hpp"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: berth-test-bundle DIR [--terminal] [--readonly] [--env K=V]... "
               "[-- ARGS...]\n"
               "Creates DIR/rootfs (busybox) and DIR/config.json; ARGS default to \"sh\".\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  berth::test::bundle_options opts;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--terminal") {
      opts.terminal = true;
    } else if (a == "--readonly") {
      opts.readonly_rootfs = true;
    } else if (a == "--env" && i + 1 < argc) {
      opts.env.emplace_back(argv[++i]);
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (!a.empty() && a[0] != '-' && dir.empty()) {
      dir = a;
    } else {
      std::fprintf(stderr, "berth-test-bundle: unexpected argument \"%s\"\n", argv[i]);
      return usage();
    }
  }
  if (dir.empty()) return usage();
  if (i < argc) opts.args.assign(argv + i, argv + argc);

  try {
    berth::test::make_busybox_bundle(dir, opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-test-bundle: %s\n", e.what());
    return 1;
  }
  return 0;
}
