// Imported images run: each archive is imported, unpacked into a snapshot,
// mounted as a bundle's rootfs and run with runc; the container lists its own
// root filesystem. (berthd does the same through the images actor.)
#include <stdio.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "actors/images/archive_import.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/image_config.hpp"
#include "actors/images/snapshotter.hpp"
#include "actors/images/unpacker.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/skip.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  return out;
}

// Imports `archive`, prepares snapshot `id`, runs `script` in it with runc,
// and returns the container's output.
std::string run_image(const berth::test::temp_dir& tmp, const std::string& archive,
                      const std::string& id, const std::string& script) {
  content_store store(tmp / "root");
  auto snaps = make_snapshotter(tmp / "root", "auto");
  auto img = import_archive(store, archive).images.at(0).image;
  prepare_container_snapshot(store, *snaps, img, id);
  std::string bundle = tmp / ("bundle-" + id);
  fs::create_directories(bundle + "/rootfs");
  mount_all(snaps->mounts(id), bundle + "/rootfs");
  std::string out;
  try {
    auto config = parse_image_config(store.read(img.config_digest));
    auto process = make_process(config, {{"sh", "-c", script}, {}, {}, {}}, bundle + "/rootfs");
    berth::test::bundle_options o;
    o.args = process.args;
    o.env = process.env;
    std::ofstream(bundle + "/config.json") << berth::test::busybox_config_json(o);
    out = run_capture("runc --root " + (tmp / "runc") + " run --bundle " + bundle + " " + id +
                      " 2>&1");
  } catch (...) {
    unmount_all(bundle + "/rootfs");
    throw;
  }
  unmount_all(bundle + "/rootfs");
  return out;
}

bool can_run() {
  return berth::test::running_as_root() && std::system("command -v runc >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("the 3-layer image runs and sees the final tree from inside") {
  if (!can_run()) {
    BERTH_SKIP("needs root and runc");
  }
  berth::test::temp_dir tmp;
  berth::test::write_oci_archive(tmp / "three.tar", berth::test::busybox_three_layer_image());
  auto out = run_image(tmp, tmp / "three.tar", "img-three",
                       "ls /etc; echo --; ls /opaque; echo --; cat /etc/layer2.txt");
  CHECK(out == "group\nlayer2.txt\npasswd\n--\nfrom-layer3.txt\n--\nfrom layer 2\n");
}

TEST_CASE("the single-layer image runs from an OCI layout and from a docker-archive") {
  if (!can_run()) {
    BERTH_SKIP("needs root and runc");
  }
  berth::test::temp_dir tmp;
  berth::test::write_oci_archive(tmp / "oci.tar", berth::test::busybox_image());
  berth::test::write_docker_archive(tmp / "docker.tar", berth::test::busybox_image());
  for (const char* which : {"oci", "docker"}) {
    INFO(which);
    auto out = run_image(tmp, tmp / (std::string(which) + ".tar"), std::string("img-") + which,
                         "ls /etc /opaque; busybox stat -c '%u:%g %a' /data /tmp");
    CHECK(
        out ==
        "/etc:\ngroup\nlayer1.txt\npasswd\n\n/opaque:\nfrom-layer1.txt\n1000:1000 750\n0:0 1777\n");
  }
}
