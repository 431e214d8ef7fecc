// A host device for --device: what stat says of the host path becomes a
// node of config.json, or a refusal naming the path and the rule.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "actors/daemon/host_devices.hpp"
#include "actors/errors.hpp"

using namespace berth;

namespace {

std::string refusal(const caf::expected<host_device>& d) {
  if (d) return "";
  CHECK(error_code(d.error()) == errc::invalid_argument);
  return error_message(d.error());
}

}  // namespace

TEST_CASE("host devices: a character or block device becomes a node", "[unit][devices]") {
  struct stat st {};
  st.st_mode = S_IFBLK | 0660;
  st.st_rdev = makedev(8, 16);
  st.st_uid = 0;
  st.st_gid = 6;
  auto d = device_from_stat({"/dev/sdb", "/dev/xvdb", "rw"}, st, "default/web");
  REQUIRE(d);
  CHECK(d->path == "/dev/xvdb");
  CHECK(d->type == "b");
  CHECK(d->major == 8);
  CHECK(d->minor == 16);
  CHECK(d->file_mode == 0660);
  CHECK(d->gid == 6);
  CHECK(d->access == "rw");

  // The host's own /dev/null, with the defaults of an empty mapping.
  auto null = find_host_device({"/dev/null", "", ""}, "default/web");
  REQUIRE(null);
  CHECK(null->path == "/dev/null");
  CHECK(null->type == "c");
  CHECK(null->major == 1);
  CHECK(null->minor == 3);
  CHECK(null->access == "rwm");
}

TEST_CASE("host devices: anything else is refused by its path", "[unit][devices]") {
  CHECK(refusal(find_host_device({"/etc/passwd", "", ""}, "default/web")) ==
        "invalid device \"/etc/passwd\" for container default/web: must be a character or block "
        "device on the host; it is a regular file");
  CHECK(refusal(find_host_device({"/dev", "", ""}, "default/web")) ==
        "invalid device \"/dev\" for container default/web: must be a character or block device "
        "on the host; it is a directory");
  CHECK(refusal(find_host_device({"/nonexistent/berth-device", "", ""}, "default/web")) ==
        "invalid device \"/nonexistent/berth-device\" for container default/web: no such device "
        "on the host");
  struct stat fifo {};
  fifo.st_mode = S_IFIFO | 0600;
  CHECK_THAT(refusal(device_from_stat({"/tmp/f", "", ""}, fifo, "ns/x")),
             Catch::EndsWith("it is a FIFO"));
  CHECK(refusal(find_host_device({"/dev/null", "/dev/../x", ""}, "default/web")) ==
        "invalid device for container default/web: container path \"/dev/../x\": must be an "
        "absolute, normalised path without . or ..");
}
