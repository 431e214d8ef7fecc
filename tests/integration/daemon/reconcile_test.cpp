// Mounts and snapshots reconciled when berthd restarts: what a crash can
// leave behind (a container's rootfs still mounted under a bundle whose task
// and container are gone, a snapshot whose container record is gone, the
// short-lived mount that resolves a container's user) is made on purpose
// while berthd is down; the restart must remove it and leave a live task
// exactly as it was. Real berthd, berth-shim, runc and overlayfs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Mount points (field 5 of /proc/self/mountinfo) that contain `part`.
int mounts_matching(const std::string& part) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, point;
    for (int i = 0; i < 5 && fields >> f; ++i) point = f;
    if (point.find(part) != std::string::npos) ++n;
  }
  return n;
}

size_t dirs_in(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    n += it->is_directory();
  return n;
}

void create_from_image(api_client& c, const std::string& id) {
  auto req = c.berth().createContainerRequest();
  req.initReq().setId(id);
  req.getReq().setImage("busybox");
  // The image links only some applets; busybox itself has them all.
  auto args = req.getReq().initOptions().initProcess().initArgs(3);
  args.set(0, "/bin/busybox");
  args.set(1, "sleep");
  args.set(2, "1000");
  REQUIRE(error_of(c.send(req).getResp()) == "");
}

pid_t pid_in(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

void run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace

TEST_CASE("a restart unmounts and removes what no container owns, and leaves live tasks alone",
          "[daemon][restart][images]") {
  berthd_process d;
  temp_dir work("berth-reconcile");
  auto archive = work / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  const std::string bundles = d.state() + "/default/";
  const std::string snapshots = d.root() + "/snapshots/overlay/snapshots";
  pid_t live_shim = 0;
  {
    api_client c(d.address());
    auto imp = c.berth().importImageRequest();
    imp.initReq().setArchivePath(archive);
    REQUIRE(error_of(c.send(imp).getResp()) == "");
    for (auto id : {"live", "stray"}) {
      create_from_image(c, id);
      std::string err;
      c.run("default", id, &err);
      REQUIRE(err == "");
    }
    create_from_image(c, "ghost");  // a snapshot, no task
  }
  live_shim = pid_in(bundles + "live/shim.pid");
  REQUIRE(mounts_matching(bundles + "live/rootfs") == 1);
  REQUIRE(mounts_matching(bundles + "stray/rootfs") == 1);
  // The image's one layer, and the snapshots of live, stray and ghost.
  REQUIRE(dirs_in(snapshots) == 4);

  d.kill9();
  // What a crash in the middle of deleting stray and ghost leaves: stray's
  // shim and container are gone but its rootfs is still mounted under a
  // bundle no task owns; neither has a record any more, both keep their
  // snapshots. And a mount resolve_process() had made for a moment.
  pid_t stray_shim = pid_in(bundles + "stray/shim.pid");
  REQUIRE(stray_shim > 0);
  REQUIRE(::kill(stray_shim, SIGKILL) == 0);
  run("runc --root " + d.state() + "/.runtime/io.berth.runc.v1/default delete --force stray");
  fs::remove(bundles + "stray/shim.pid");
  fs::remove(bundles + "stray/shim.sock");
  run("sqlite3 " + d.root() +
      "/meta.db \"DELETE FROM tasks WHERE id = 'stray'; "
      "DELETE FROM containers WHERE id IN ('stray', 'ghost');\"");
  const std::string resolve = d.root() + "/snapshots/resolve-crash";
  REQUIRE(::mkdir(resolve.c_str(), 0700) == 0);
  REQUIRE(::mount("tmpfs", resolve.c_str(), "tmpfs", 0, "size=1m") == 0);

  d.start();
  api_client c(d.address());
  CHECK(mounts_matching(bundles + "stray/rootfs") == 0);
  CHECK_FALSE(fs::exists(bundles + "stray"));
  CHECK(mounts_matching(resolve) == 0);
  CHECK_FALSE(fs::exists(resolve));
  // stray's and ghost's snapshots went; the image's layer and live's stayed.
  CHECK(dirs_in(snapshots) == 2);
  CHECK_THAT(d.log(), Contains("unmounted the rootfs of default/stray: no task owns it"));
  CHECK_THAT(d.log(), Contains("removed snapshot default/ghost: no container owns it"));

  // live is as it was: same shim, rootfs mounted, still running, and it
  // still answers through berthd.
  CHECK(pid_in(bundles + "live/shim.pid") == live_shim);
  CHECK(mounts_matching(bundles + "live/rootfs") == 1);
  REQUIRE(c.pump_until([&] { return c.status("default", "live") == wire::TaskStatus::RUNNING; }));
  auto containers = c.berth().listContainersRequest();
  containers.initReq();
  auto listed = c.send(containers);
  REQUIRE(listed.getResp().getContainers().size() == 1);
  CHECK(std::string(listed.getResp().getContainers()[0].getId().cStr()) == "live");

  CHECK(c.remove("default", "live") == "");
  CHECK(mounts_matching(bundles + "live/rootfs") == 0);
  auto rm = c.berth().removeImageRequest();
  rm.initReq().setName("busybox");
  CHECK(error_of(c.send(rm).getResp()) == "");
  CHECK(dirs_in(snapshots) == 0);
  CHECK(shims_left(d.state()).empty());
}
