// `berth i pull` against a real registry (Debian's docker-registry on a
// loopback port), with the image pushed there beforehand by skopeo, as a
// user's CI would: the pulled digest is skopeo's, the image runs, a second
// pull fetches nothing, and each failure (no such tag, unreachable registry,
// authentication missing or refused, a blob whose content does not match its
// digest) is a clear error that leaves nothing in the content store.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "berth_runner.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/registry_process.hpp"
#include "tests/support/test_certificates.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct pull_fixture {
  temp_dir dir{"berth-pull"};
  berthd_process daemon;
  std::string archive = [this] {
    std::string p = dir / "busybox.tar";
    write_oci_archive(p, busybox_image());
    return p;
  }();

  berth_result berth(std::vector<std::string> args) {
    return run_berth_at(daemon.address(), std::move(args));
  }
  std::set<std::string> blobs() { return names_in(daemon.root() + "/content/blobs/sha256"); }
  std::set<std::string> ingest() { return names_in(daemon.root() + "/content/ingest"); }
};

}  // namespace

TEST_CASE_METHOD(pull_fixture,
                 "pull over plain HTTP: skopeo's digest, runs, cached the second time",
                 "[images][pull]") {
  registry_process registry;
  auto digest = registry.push_oci_archive(archive, "test/busybox:1.0");
  REQUIRE(digest.rfind("sha256:", 0) == 0);
  std::string ref = registry.host() + "/test/busybox:1.0";

  auto pulled = berth({"i", "pull", "--plain-http", ref});
  INFO(pulled.err);
  REQUIRE(pulled.exit_code == 0);
  CHECK(pulled.out == "pulled " + ref + " (" + digest + ")\n");
  CHECK_THAT(pulled.err, Contains(": done, "));  // one line per blob when not on a terminal

  auto ls = berth({"i", "ls", "-q"});
  CHECK(ls.out == ref + "\n");
  auto run = berth({"run", "--rm", ref, "pulled", "echo", "hello from the registry"});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "hello from the registry\n");

  // Everything is in the store now: nothing is fetched again.
  auto before = blobs();
  auto again = berth({"i", "pull", "--plain-http", ref});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Contains(": cached ("));
  CHECK_FALSE(Catch::Matchers::Contains(": done, ").match(again.err));
  CHECK(blobs() == before);

  // By digest too: the same manifest, named by it.
  auto by_digest =
      berth({"i", "pull", "--plain-http", registry.host() + "/test/busybox@" + digest});
  INFO(by_digest.err);
  CHECK(by_digest.exit_code == 0);
  CHECK_THAT(by_digest.out, Contains(digest));
}

TEST_CASE_METHOD(pull_fixture, "pull failures are named and leave nothing behind",
                 "[images][pull]") {
  registry_process registry;
  auto digest = registry.push_oci_archive(archive, "test/busybox:1.0");
  auto host = registry.host();

  SECTION("no such tag") {
    auto r = berth({"i", "pull", "--plain-http", host + "/test/busybox:nope"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("berth: pull " + host + "/test/busybox:nope: registry " + host +
                               ", repository test/busybox: manifest nope: HTTP 404 "
                               "(MANIFEST_UNKNOWN: manifest unknown)"));
  }
  SECTION("HTTPS asked of a plain-HTTP registry") {
    auto r = berth({"i", "pull", host + "/test/busybox:1.0"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("manifest 1.0: cannot fetch https://" + host +
                               "/v2/test/busybox/manifests/1.0: "));
  }
  SECTION("nothing listens") {
    auto r = berth({"i", "pull", "--plain-http", "127.0.0.1:1/test/busybox:1.0"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("Couldn't connect to server (after 4 attempts)"));
  }
  SECTION("a bad reference is refused before any request") {
    auto r = berth({"i", "pull", "--plain-http", host + "/Test/BusyBox:1.0"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("is not a valid repository path component"));
  }
  SECTION("a blob whose content does not match its digest is refused and not kept") {
    // The layer is the largest blob the registry holds; change its bytes, keep its size.
    std::string layer;
    std::uintmax_t largest = 0;
    for (const auto& e : fs::recursive_directory_iterator(registry.storage()))
      if (e.is_regular_file() && e.path().filename() == "data" && e.file_size() > largest) {
        largest = e.file_size();
        layer = e.path().string();
      }
    REQUIRE(largest > 0);
    {
      std::fstream f(layer, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(largest / 2));
      f.put('\x55');
      f.put('\xaa');
    }
    auto r = berth({"i", "pull", "--plain-http", host + "/test/busybox:1.0"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("digest mismatch"));
    auto layer_digest = "sha256:" + fs::path(layer).parent_path().filename().string();
    CHECK(blobs().count(layer_digest.substr(7)) == 0);
    CHECK(berth({"i", "ls", "-q"}).out.empty());
  }
  CHECK(ingest().empty());
  // berthd still serves, and the store has no manifest of a failed pull.
  CHECK(berth({"i", "ls", "-q"}).exit_code == 0);
  CHECK(blobs().count(digest.substr(7)) == 0);
}

TEST_CASE_METHOD(pull_fixture, "pull from a registry with basic authentication", "[images][pull]") {
  registry_process::options o;
  o.user = "alice";
  o.password = "s3cret";
  registry_process registry(o);
  auto digest = registry.push_oci_archive(archive, "private/busybox:1.0");
  std::string ref = registry.host() + "/private/busybox:1.0";

  auto anonymous = berth({"i", "pull", "--plain-http", ref});
  CHECK(anonymous.exit_code == 1);
  CHECK_THAT(
      anonymous.err,
      Contains("manifest 1.0: HTTP 401: the registry wants a user name and password (--user)"));

  auto wrong = berth({"i", "pull", "--plain-http", "--user", "alice:guess", ref});
  CHECK(wrong.exit_code == 1);
  CHECK_THAT(wrong.err, Contains("manifest 1.0: HTTP 401"));
  CHECK_THAT(wrong.err, Contains("the credentials were refused"));
  CHECK(berth({"i", "ls", "-q"}).out.empty());

  auto right = berth({"i", "pull", "--plain-http", "--user", "alice:s3cret", ref});
  INFO(right.err);
  CHECK(right.exit_code == 0);
  CHECK(right.out == "pulled " + ref + " (" + digest + ")\n");
}

namespace {

// A berthd whose config.toml holds `registry_section`.
berthd_process::options with_config(const temp_dir& dir, const std::string& registry_section) {
  std::string config = dir / "config.toml";
  std::ofstream(config) << registry_section;
  berthd_process::options o;
  o.extra_args = {"--config", config};
  return o;
}

}  // namespace

TEST_CASE("pull over TLS: refused without the registry's CA, pulled with it from config.toml",
          "[images][pull]") {
  temp_dir dir{"berth-pull-tls"};
  test_ca ca("registry-ca");
  auto cert = ca.issue("127.0.0.1");
  std::string ca_file = ca.cert();  // test_ca hands out PEM files
  registry_process::options ro;
  ro.tls_cert = cert.cert;
  ro.tls_key = cert.key;
  registry_process registry(ro);
  std::string archive = dir / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  auto digest = registry.push_oci_archive(archive, "secure/busybox:1.0");
  std::string ref = registry.host() + "/secure/busybox:1.0";

  {
    berthd_process plain;
    auto r = run_berth_at(plain.address(), {"i", "pull", ref});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("manifest 1.0: cannot fetch https://" + registry.host()));
    CHECK_THAT(r.err, Contains("certificate"));
  }
  berthd_process daemon(
      with_config(dir, "[registry.\"" + registry.host() + "\"]\nca = \"" + ca_file + "\"\n"));
  auto r = run_berth_at(daemon.address(), {"i", "pull", ref});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "pulled " + ref + " (" + digest + ")\n");
}

TEST_CASE("pull through a mirror from config.toml, and past a mirror that lacks the image",
          "[images][pull]") {
  temp_dir dir{"berth-pull-mirror"};
  std::string archive = dir / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  registry_process origin, mirror, empty_mirror;
  // Only the mirror has "only-on-mirror"; only the origin has "only-on-origin".
  auto on_mirror = mirror.push_oci_archive(archive, "lib/only-on-mirror:1");
  auto on_origin = origin.push_oci_archive(archive, "lib/only-on-origin:1");
  berthd_process daemon(
      with_config(dir, "[registry.\"" + origin.host() + "\"]\nplain_http = true\nmirrors = [\"" +
                           empty_mirror.host() + "\", \"" + mirror.host() + "\"]\n"));

  auto a = run_berth_at(daemon.address(), {"i", "pull", origin.host() + "/lib/only-on-mirror:1"});
  INFO(a.err);
  CHECK(a.exit_code == 0);
  CHECK(a.out == "pulled " + origin.host() + "/lib/only-on-mirror:1 (" + on_mirror + ")\n");
  auto b = run_berth_at(daemon.address(), {"i", "pull", origin.host() + "/lib/only-on-origin:1"});
  INFO(b.err);
  CHECK(b.exit_code == 0);
  CHECK(b.out == "pulled " + origin.host() + "/lib/only-on-origin:1 (" + on_origin + ")\n");
  // Neither has it: the origin's answer is the error.
  auto c = run_berth_at(daemon.address(), {"i", "pull", origin.host() + "/lib/nowhere:1"});
  CHECK(c.exit_code == 1);
  CHECK_THAT(c.err, Contains("registry " + origin.host() +
                             ", repository lib/nowhere: manifest 1: "
                             "HTTP 404"));
}

TEST_CASE("run and create --pull missing|always|never", "[images][pull]") {
  temp_dir dir{"berth-pull-policy"};
  std::string archive = dir / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  registry_process registry;
  auto digest = registry.push_oci_archive(archive, "app/busybox:1");
  std::string ref = registry.host() + "/app/busybox:1";
  berthd_process daemon(
      with_config(dir, "[registry.\"" + registry.host() + "\"]\nplain_http = true\n"));
  auto berth = [&](std::vector<std::string> args) {
    return run_berth_at(daemon.address(), std::move(args));
  };

  auto never = berth({"run", "--rm", ref, "n1", "true"});  // ctr's default: no pull
  CHECK(never.exit_code == 1);
  CHECK_THAT(never.err, Contains("not found"));

  auto missing = berth({"run", "--rm", "--pull", "missing", ref, "m1", "echo", "pulled and ran"});
  INFO(missing.err);
  CHECK(missing.exit_code == 0);
  CHECK(missing.out == "pulled and ran\n");  // stdout is the container's alone
  CHECK_THAT(missing.err, Contains("pulled " + ref + " (" + digest + ")"));

  // Present now: missing does not pull, always does (and finds every blob cached).
  auto again = berth({"c", "create", "--pull", "missing", ref, "m2"});
  CHECK(again.exit_code == 0);
  CHECK_FALSE(Catch::Matchers::Contains("pulled").match(again.err));
  auto always = berth({"c", "create", "--pull", "always", ref, "a1"});
  CHECK(always.exit_code == 0);
  CHECK_THAT(always.err, Contains(": cached ("));
  CHECK_THAT(always.err, Contains("pulled " + ref));
  CHECK(berth({"c", "ls", "-q"}).out == "a1\nm2\n");

  auto bad = berth({"run", "--pull", "sometimes", ref, "b1", "true"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Contains("--pull"));
}

TEST_CASE_METHOD(pull_fixture, "pull chooses the platform from a multi-platform index",
                 "[images][pull]") {
  registry_process registry;
  auto amd = busybox_image();
  auto arm = busybox_image();
  arm.architecture = "arm64";
  std::string multi = dir / "multi.tar";
  auto built = write_oci_multiplatform_archive(multi, {amd, arm});
  // --all keeps the index and both manifests as they are.
  REQUIRE(std::system(("skopeo --insecure-policy copy --quiet --all --dest-tls-verify=false "
                       "oci-archive:" +
                       multi + " docker://" + registry.host() + "/multi/bb:1")
                          .c_str()) == 0);
  std::string ref = registry.host() + "/multi/bb:1";

  auto arm_pull = berth({"i", "pull", "--plain-http", "--platform", "linux/arm64", ref});
  INFO(arm_pull.err);
  CHECK(arm_pull.exit_code == 0);
  CHECK(arm_pull.out == "pulled " + ref + " (" + built[1].manifest_digest + ")\n");
  auto default_pull = berth({"i", "pull", "--plain-http", ref});  // linux/amd64
  CHECK(default_pull.exit_code == 0);
  CHECK(default_pull.out == "pulled " + ref + " (" + built[0].manifest_digest + ")\n");
  auto none = berth({"i", "pull", "--plain-http", "--platform", "linux/s390x", ref});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.err,
             Contains("has no manifest for linux/s390x (it has linux/amd64, linux/arm64)"));
}

TEST_CASE_METHOD(pull_fixture,
                 "pull --all-platforms keeps the index: runs the host's, exports and pushes it "
                 "whole, removed whole",
                 "[images][pull]") {
  registry_process registry;
  auto amd = busybox_image();
  auto arm = busybox_image();
  arm.architecture = "arm64";
  arm.layers.push_back({{{tar_entry::file, "etc/arm-only", "an arm64 file\n"}}});  // its own
  std::string multi = dir / "multi.tar";
  auto built = write_oci_multiplatform_archive(multi, {amd, arm});
  auto index = registry.push_oci_archive_all(multi, "multi/bb:1");
  std::string ref = registry.host() + "/multi/bb:1";

  auto bad =
      berth({"i", "pull", "--plain-http", "--all-platforms", "--platform", "linux/arm64", ref});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Contains("--platform excludes --all-platforms"));

  auto all = berth({"i", "pull", "--plain-http", "--all-platforms", ref});
  INFO(all.err);
  REQUIRE(all.exit_code == 0);
  CHECK(all.out == "pulled " + ref + " (" + index + ")\n");
  auto have = blobs();
  for (const auto& b : built) {
    INFO(b.manifest_digest);
    CHECK(have.count(b.manifest_digest.substr(7)) == 1);
  }
  CHECK(have.count(index.substr(7)) == 1);
  auto ls = berth({"i", "ls"});
  CHECK_THAT(ls.out, Contains(index));

  // The host's platform runs from it.
  auto run = berth({"run", "--rm", ref, "all", "echo", "host platform"});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "host platform\n");
  auto arm_file = berth({"run", "--rm", ref, "all2", "cat", "/etc/arm-only"});
  CHECK(arm_file.exit_code != 0);  // amd64's filesystem, not arm64's

  // Exported and pushed as the index it is, both manifests with it.
  std::string out = dir / "all.tar";
  auto exported = berth({"i", "export", out, ref});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  auto copy = registry.push_oci_archive_all(out, "copy/from-export:1");
  CHECK(copy == index);
  auto pushed = berth({"i", "push", "--plain-http", registry.host() + "/copy/bb:2", ref});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  CHECK(pushed.out == "pushed " + registry.host() + "/copy/bb:2 (" + index + ")\n");
  CHECK(registry.tag_digest("copy/bb:2") == index);

  // Removed, every platform's blobs go with it.
  REQUIRE(berth({"i", "rm", ref}).exit_code == 0);
  CHECK(blobs().empty());
}
