// berth-test-image: writes the default busybox image (one layer built from
// busybox-static) as an OCI image layout tar, for the README's demo and the
// benchmarks.
//
//   berth-test-image OUT.tar [NAME]     NAME defaults to docker.io/library/busybox:latest
#include <iostream>

#include "tests/support/image_archives.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: berth-test-image OUT.tar [NAME]\n";
    return 2;
  }
  try {
    auto spec = berth::test::busybox_image();
    if (argc == 3) spec.name = argv[2];
    berth::test::write_oci_archive(argv[1], spec);
  } catch (const std::exception& e) {
    std::cerr << "berth-test-image: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
