// `berth i push` to a real registry: skopeo then sees the digest berth has,
// a fresh berthd pulls the same digest back, a second push sends no blob
// (the registry has them: HEAD first), and credentials work as for pull; a
// blob another repository of the registry holds is mounted, not uploaded;
// [images] upload_chunk_size sends blobs in chunks.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "berth_runner.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/registry_process.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

// `skopeo inspect`'s Digest of a reference on a plain-HTTP registry.
std::string skopeo_digest(const std::string& ref, const std::string& creds = "") {
  std::string cmd = "skopeo inspect --tls-verify=false " +
                    (creds.empty() ? "" : "--creds '" + creds + "' ") + "--format '{{.Digest}}' " +
                    "docker://" + ref;
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

TEST_CASE(
    "push: skopeo sees berth's digest, a fresh berthd pulls it back, a second push sends "
    "nothing",
    "[images][push]") {
  temp_dir dir{"berth-push"};
  berthd_process daemon;
  std::string archive = dir / "busybox.tar";
  auto built = write_oci_archive(archive, busybox_image());
  REQUIRE(run_berth_at(daemon.address(), {"i", "import", archive}).exit_code == 0);
  registry_process registry;
  std::string ref = registry.host() + "/team/busybox:1";

  auto pushed = run_berth_at(daemon.address(), {"i", "push", "--plain-http", ref, "busybox"});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  CHECK(pushed.out == "pushed " + ref + " (" + built.manifest_digest + ")\n");
  CHECK_THAT(pushed.err, Contains(": done, "));
  CHECK(skopeo_digest(ref) == built.manifest_digest);

  berthd_process other;
  auto pulled = run_berth_at(other.address(), {"i", "pull", "--plain-http", ref});
  INFO(pulled.err);
  CHECK(pulled.out == "pulled " + ref + " (" + built.manifest_digest + ")\n");

  auto again = run_berth_at(daemon.address(), {"i", "push", "--plain-http",
                                               registry.host() + "/team/busybox:2", "busybox"});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Contains(": cached ("));
  CHECK_FALSE(Catch::Matchers::Contains(": done, ").match(again.err));

  auto to_digest = run_berth_at(
      daemon.address(), {"i", "push", "--plain-http",
                         registry.host() + "/team/busybox@" + built.manifest_digest, "busybox"});
  CHECK(to_digest.exit_code == 1);
  CHECK_THAT(to_digest.err, Contains("name a tag to push to, not a digest"));
  auto unknown = run_berth_at(daemon.address(), {"i", "push", "--plain-http", ref, "nothing:here"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Contains("image \"docker.io/library/nothing:here\" in namespace "
                                   "\"default\" not found"));
}

TEST_CASE("push with basic authentication", "[images][push]") {
  temp_dir dir{"berth-push-auth"};
  berthd_process daemon;
  std::string archive = dir / "busybox.tar";
  auto built = write_oci_archive(archive, busybox_image());
  REQUIRE(run_berth_at(daemon.address(), {"i", "import", archive}).exit_code == 0);
  registry_process::options o;
  o.user = "bob";
  o.password = "hunter2";
  registry_process registry(o);
  std::string ref = registry.host() + "/bob/busybox:1";

  auto anonymous = run_berth_at(daemon.address(), {"i", "push", "--plain-http", ref, "busybox"});
  CHECK(anonymous.exit_code == 1);
  CHECK_THAT(anonymous.err, Contains("HTTP 401: the registry wants a user name and password"));
  auto wrong = run_berth_at(daemon.address(),
                            {"i", "push", "--plain-http", "-u", "bob:nope", ref, "busybox"});
  CHECK(wrong.exit_code == 1);
  CHECK_THAT(wrong.err, Contains("the credentials were refused"));
  auto right = run_berth_at(daemon.address(),
                            {"i", "push", "--plain-http", "-u", "bob:hunter2", ref, "busybox"});
  INFO(right.err);
  CHECK(right.exit_code == 0);
  CHECK(skopeo_digest(ref, "bob:hunter2") == built.manifest_digest);
}

TEST_CASE("push: chunked uploads from config.toml; blobs of another repository are mounted",
          "[images][push]") {
  temp_dir dir{"berth-push-chunks"};
  std::string config = dir / "config.toml";
  std::ofstream(config) << "[images]\nupload_chunk_size = 65536\n";
  berthd_process::options o;
  o.extra_args = {"--config", config};
  berthd_process daemon(o);
  std::string archive = dir / "busybox.tar";
  auto built = write_oci_archive(archive, busybox_image());
  REQUIRE(run_berth_at(daemon.address(), {"i", "import", archive}).exit_code == 0);
  registry_process registry;

  // The busybox layer (about 1 MiB) goes in 64 KiB PATCHes; the registry
  // checks the digest of what they add up to.
  std::string a = registry.host() + "/team/a:1";
  auto pushed = run_berth_at(daemon.address(), {"i", "push", "--plain-http", a, "busybox"});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  CHECK_THAT(pushed.err, Contains(": done, "));
  CHECK(skopeo_digest(a) == built.manifest_digest);

  // To another repository of the same registry: mounted from the first.
  std::string b = registry.host() + "/team/b:1";
  auto mounted = run_berth_at(daemon.address(), {"i", "push", "--plain-http", b, "busybox"});
  INFO(mounted.err);
  REQUIRE(mounted.exit_code == 0);
  CHECK_THAT(mounted.err, Contains(": mounted from team/a ("));
  CHECK_FALSE(Catch::Matchers::Contains(": done, ").match(mounted.err));
  CHECK(skopeo_digest(b) == built.manifest_digest);

  // A berthd that pulled the image knows where from, and mounts from there.
  berthd_process other;
  REQUIRE(run_berth_at(other.address(), {"i", "pull", "--plain-http", b}).exit_code == 0);
  std::string c = registry.host() + "/team/c:1";
  auto from_pull = run_berth_at(other.address(), {"i", "push", "--plain-http", c, b});
  INFO(from_pull.err);
  REQUIRE(from_pull.exit_code == 0);
  CHECK_THAT(from_pull.err, Contains(": mounted from team/b ("));
  CHECK(skopeo_digest(c) == built.manifest_digest);
}
