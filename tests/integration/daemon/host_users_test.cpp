// Host users get nothing of a container through berth's directories: every
// directory and file berth (and the shim, and runc) made under --root and
// --state is tried by an unprivileged user, who must be refused each one.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_client.hpp"
#include "tests/support/as_nobody.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::test;
namespace fs = std::filesystem;

namespace {

// Every path under `dir`, as root sees it, without following symlinks.
std::vector<std::string> everything_under(const std::string& dir) {
  std::vector<std::string> out{dir};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().string());
  }
  return out;
}

// The paths of `paths` that user nobody could open (read a file, list a
// directory, or open a FIFO or device), one per line.
std::string reachable_by_nobody(const std::vector<std::string>& paths) {
  auto found = run_as_nobody([&] {
    std::string out;
    for (auto& p : paths) {
      // O_NONBLOCK: a FIFO must not hang the test; O_NOFOLLOW: a symlink
      // itself is not a leak, only what it gives access to.
      int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        out += p + "\n";
        ::close(fd);
      }
    }
    return out;
  });
  REQUIRE(found.rfind("!", 0) == std::string::npos);  // the child became nobody
  return found;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("an unprivileged host user cannot reach a running container through berth's directories",
          "[daemon][security]") {
  berthd_process d;
  api_client c(d.address());
  // From an image, so the container's root filesystem is an overlay mount
  // of snapshots under --root, mounted in its bundle under --state.
  temp_dir work("berth-host-users");
  auto archive = work / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  auto import = c.berth().importImageRequest();
  import.initReq().setArchivePath(archive);
  REQUIRE(error_of(c.send(import).getResp()) == "");
  auto create = c.berth().createContainerRequest();
  create.initReq().setId("web");
  create.getReq().setImage("docker.io/library/busybox:latest");
  auto args = create.getReq().initOptions().initProcess().initArgs(3);
  args.set(0, "busybox");
  args.set(1, "sleep");
  args.set(2, "1000");
  REQUIRE(error_of(c.send(create).getResp()) == "");
  std::string err;
  c.run("default", "web", &err);
  REQUIRE(err == "");
  // An exec too: its spec and its files are under the bundle.
  auto task = c.task("default", "web");
  auto exec = task.execRequest();
  exec.initReq().setExecId("look");
  exec.getReq().initSpec().initArgs(1).set(0, "true");
  REQUIRE(error_of(c.send(exec).getResp()) == "");

  CHECK(mode_of(d.root()) == 0700);
  CHECK(mode_of(d.state()) == 0711);  // the API socket is reached by its name
  CHECK(mode_of(d.state() + "/default") == 0700);
  CHECK(mode_of(d.state() + "/default/web") == 0700);
  CHECK(mode_of(d.state() + "/default/web/config.json") == 0600);

  auto paths = everything_under(d.root());
  auto state = everything_under(d.state());
  paths.insert(paths.end(), state.begin(), state.end());
  // The container's own files are among them: its rootfs is mounted in the
  // bundle, so its /bin/sh is one of the paths tried.
  auto sh = d.state() + "/default/web/rootfs/bin/sh";
  REQUIRE(std::find(paths.begin(), paths.end(), sh) != paths.end());
  INFO(paths.size() << " paths under " << d.root() << " and " << d.state());
  CHECK(reachable_by_nobody(paths) == "");

  CHECK(c.remove("default", "web") == "");
}

TEST_CASE("an existing state or root directory with a wider mode is made private at start",
          "[daemon][security]") {
  berthd_process d;
  REQUIRE(d.stop());
  REQUIRE(::chmod(d.root().c_str(), 0755) == 0);
  REQUIRE(::chmod(d.state().c_str(), 0777) == 0);
  d.start();
  CHECK(mode_of(d.root()) == 0700);
  CHECK(mode_of(d.state()) == 0711);
}
