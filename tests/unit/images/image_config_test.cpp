// The image config turned into a process: args, env, cwd, and users and
// groups looked up in the image's own /etc files.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actors/images/image_config.hpp"
#include "actors/images/images_error.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth::images;
namespace fs = std::filesystem;

namespace {

void make_rootfs(const std::string& root) {
  fs::create_directories(root + "/etc");
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                         "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                                         "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\nwheel:x:10:alice\nstaff:x:50:bob,alice\n"
                                        "alice:x:1000:\nnogroup:x:65534:\n";
}

const char* kConfig = R"({"os":"linux","architecture":"amd64","config":{
  "Entrypoint":["/bin/app"],"Cmd":["--serve"],"Env":["PATH=/bin","A=1"],
  "WorkingDir":"/srv","User":"alice","Labels":{"l":"v"}},"rootfs":{"type":"layers","diff_ids":[]}})";

}  // namespace

TEST_CASE("parse_image_config reads the process fields") {
  auto c = parse_image_config(kConfig);
  CHECK(c.entrypoint == std::vector<std::string>{"/bin/app"});
  CHECK(c.cmd == std::vector<std::string>{"--serve"});
  CHECK(c.working_dir == "/srv");
  CHECK(c.user == "alice");
  CHECK(c.labels.at("l") == "v");
  CHECK_THROWS_WITH(parse_image_config("{", "config C"),
                    Catch::StartsWith("config C is not valid JSON: "));
}

TEST_CASE("parse_image_config: an os or architecture that is not a string reads as unset") {
  // Found by the image_config fuzz target (tests/fuzz/regressions/image_config/):
  // nlohmann's type_error escaped, naming neither the image nor the field.
  auto c = parse_image_config(R"({"os":null,"architecture":7,"config":{"Cmd":["sh"]}})");
  CHECK(c.os.empty());
  CHECK(c.architecture.empty());
  CHECK(c.cmd == std::vector<std::string>{"sh"});
}

TEST_CASE("make_process: entrypoint + cmd, args replace cmd, env merged") {
  berth::test::temp_dir root;
  make_rootfs(root.path());
  auto c = parse_image_config(kConfig);
  auto p = make_process(c, {}, root.path());
  CHECK(p.args == std::vector<std::string>{"/bin/app", "--serve"});
  CHECK(p.env == std::vector<std::string>{"PATH=/bin", "A=1", "HOME=/home/alice"});
  CHECK(p.cwd == "/srv");
  CHECK(p.user.uid == 1000);
  CHECK(p.user.gid == 1000);
  CHECK(p.user.additional_gids == std::vector<std::uint32_t>{10, 50});

  process_overrides o;
  o.args = {"--check"};
  o.env = {"A=2", "B=3"};
  o.cwd = "/tmp";
  o.user = "nobody";
  p = make_process(c, o, root.path());
  CHECK(p.args == std::vector<std::string>{"/bin/app", "--check"});
  CHECK(p.env == std::vector<std::string>{"PATH=/bin", "A=2", "B=3", "HOME=/nonexistent"});
  CHECK(p.cwd == "/tmp");
  CHECK(p.user.uid == 65534);
  CHECK(p.user.gid == 65534);

  image_config empty;
  auto d = make_process(empty, {{"sh"}, {}, {}, {}}, root.path());
  CHECK(d.cwd == "/");
  CHECK(d.user.uid == 0);
  CHECK(d.env.front() == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  CHECK_THROWS_WITH(make_process(empty, {}, root.path()),
                    "no command to run: the image has no entrypoint or cmd and none was given");
}

TEST_CASE("resolve_user: names, ids and groups from the image") {
  berth::test::temp_dir root;
  make_rootfs(root.path());
  auto u = resolve_user("1000:1000", root.path());
  CHECK((u.uid == 1000 && u.gid == 1000));
  u = resolve_user("alice:staff", root.path());
  CHECK((u.uid == 1000 && u.gid == 50));
  u = resolve_user("4242", root.path());  // unknown ids are fine
  CHECK((u.uid == 4242 && u.gid == 0));
  u = resolve_user("nobody:0", root.path());
  CHECK((u.uid == 65534 && u.gid == 0));
  CHECK_THROWS_WITH(resolve_user("mallory", root.path()),
                    "user \"mallory\" not found in the image's /etc/passwd");
  CHECK_THROWS_WITH(resolve_user("alice:nosuch", root.path()),
                    "group \"nosuch\" not found in the image's /etc/group");
}

TEST_CASE("resolve_user resolves symlinks inside the rootfs, never on the host") {
  berth::test::temp_dir root;
  fs::create_directories(root / "etc");
  // The file a symlink names is the rootfs's own, whether absolute or full of "..".
  std::ofstream(root / "etc/alt-passwd") << "root:x:7:7:root:/r:/bin/sh\n";
  fs::create_symlink("/etc/alt-passwd", root / "etc/passwd");
  CHECK(resolve_user("root", root.path()).uid == 7);
  fs::remove(root / "etc/passwd");
  fs::create_symlink("../../../../../../etc/alt-passwd", root / "etc/passwd");
  CHECK(resolve_user("root", root.path()).uid == 7);
  fs::remove(root / "etc/passwd");
  fs::create_symlink("/etc/hostname", root / "etc/passwd");  // exists on the host only
  CHECK_THROWS_WITH(resolve_user("root", root.path()),
                    "user \"root\" not found in the image's /etc/passwd");
}

TEST_CASE("resolve_user reads only regular files: a FIFO or a device in the image is refused") {
  berth::test::temp_dir root;
  fs::create_directories(root / "etc");
  // A FIFO nobody writes: a blocking open would hang the images actor.
  REQUIRE(::mkfifo((root / "etc/passwd").c_str(), 0644) == 0);
  CHECK_THROWS_WITH(resolve_user("alice", root.path()),
                    "/etc/passwd in the image's root filesystem is not a regular file");
  fs::remove(root / "etc/passwd");
  // A device node (only root may make one; the FIFO above covers the rest).
  if (::geteuid() == 0) {
    REQUIRE(::mknod((root / "etc/passwd").c_str(), S_IFCHR | 0644, ::makedev(1, 3)) == 0);
    CHECK_THROWS_WITH(resolve_user("alice", root.path()),
                      "/etc/passwd in the image's root filesystem is not a regular file");
    fs::remove(root / "etc/passwd");
  }
  // Larger than any real one.
  {
    std::ofstream big(root / "etc/passwd");
    std::string line(1023, 'x');
    for (int i = 0; i < 5 * 1024; ++i) big << line << "\n";
  }
  CHECK_THROWS_WITH(resolve_user("alice", root.path()),
                    "/etc/passwd in the image is larger than 4 MiB");
}

TEST_CASE("needs_rootfs: only a user to look up reads the image's files") {
  auto c = parse_image_config(kConfig);  // User alice
  CHECK(needs_rootfs(c, {}));
  image_config root_image;
  CHECK_FALSE(needs_rootfs(root_image, {}));
  process_overrides as_nobody;
  as_nobody.user = "nobody";
  CHECK(needs_rootfs(root_image, as_nobody));
  // Root resolves without any rootfs at all: nothing is mounted for it.
  auto p = make_process(root_image, {{"sh"}, {}, {}, {}}, "/nonexistent/rootfs");
  CHECK(p.user.uid == 0);
  CHECK(p.env.back() == "HOME=/root");
}
