// The images actor against a real store actor and disk: import with
// progress, list, tag, prepare a container snapshot with the process
// resolved, remove with garbage collection, and errors as berth errors.
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "actors/errors.hpp"
#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_actor.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/image_archives.hpp"
#include "tests/support/skip.hpp"
#include "tests/unit/images/http_server.hpp"

using namespace berth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct images_test_config : caf::actor_system_config {
  images_test_config() {
    add_store_types(*this);
    add_images_types(*this);
  }
};

struct client {
  images_test_config cfg;
  caf::actor_system sys{cfg};
  store_actor store;
  images_actor images;
  caf::scoped_actor self{sys};

  explicit client(const std::string& root)
      : store(spawn_store(sys, root)), images(spawn_images(sys, store, {root, "auto", {}, {}})) {}
  ~client() {
    self->send_exit(images, caf::exit_reason::user_shutdown);
    self->send_exit(store, caf::exit_reason::user_shutdown);
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& to, Ts&&... xs) {
    return ask_within<T>(60s, to, std::forward<Ts>(xs)...);
  }
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_within(std::chrono::seconds limit, const Handle& to, Ts&&... xs) {
    std::optional<caf::expected<T>> out;
    self->request(to, limit, std::forward<Ts>(xs)...)
        .receive([&](T& x) { out.emplace(std::move(x)); },
                 [&](caf::error& err) { out.emplace(std::move(err)); });
    return std::move(*out);
  }
};

std::size_t blob_count(const std::string& root) {
  return static_cast<std::size_t>(std::distance(
      fs::directory_iterator(root + "/content/blobs/sha256"), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("images actor: import, list, tag, prepare, remove with GC", "[images]") {
  if (!berth::test::running_as_root()) {
    BERTH_SKIP("needs root (mounts)");
  }
  berth::test::temp_dir tmp;
  std::string root = tmp / "root";
  auto spec = berth::test::busybox_three_layer_image();
  spec.user = "alice";
  spec.working_dir = "/data";
  auto built = berth::test::write_oci_archive(tmp / "three.tar", spec);
  client c{root};
  REQUIRE(
      c.ask<namespace_record>(c.store, put_ns_atom::value, namespace_record{"default", {}, {}}));

  // Progress messages arrive at the actor named in the request.
  import_request req;
  req.ns = "default";
  req.archive_path = tmp / "three.tar";
  req.labels = {{"source", "test"}};
  req.progress_to = caf::actor_cast<caf::actor>(c.self);
  auto imported = c.ask<std::vector<image_record>>(c.images, img_import_atom::value, req);
  REQUIRE(imported);
  REQUIRE(imported->size() == 1);
  const auto& rec = imported->front();
  CHECK(rec.name == "docker.io/library/busybox:three");
  CHECK(rec.target == built.manifest_digest);
  CHECK(rec.labels == label_map{{"source", "test"}});
  std::optional<images::import_progress> last;
  c.self->receive_while([&] { return !last || last->layers_total == 0; })(
      [&](img_progress_atom, const images::import_progress& p) { last = p; });
  CHECK(last->layers_done == 3);

  auto tagged = c.ask<image_record>(c.images, img_tag_atom::value, std::string{"default"}, rec.name,
                                    std::string{"bb:mine"});
  REQUIRE(tagged);
  CHECK(tagged->name == "docker.io/library/bb:mine");
  CHECK(tagged->target == rec.target);
  auto listed =
      c.ask<std::vector<image_record>>(c.images, img_list_atom::value, std::string{"default"});
  REQUIRE(listed);
  CHECK(listed->size() == 2);

  prepare_request pr;
  pr.ns = "default";
  pr.image = rec.name;
  pr.snapshot_key = "default/web";
  pr.args = {"ls", "/"};
  pr.env = {"EXTRA=1"};
  auto prepared = c.ask<prepared_snapshot>(c.images, snap_prepare_atom::value, pr);
  REQUIRE(prepared);
  CHECK(prepared->args == std::vector<std::string>{"ls", "/"});
  CHECK(prepared->env == std::vector<std::string>{"PATH=/bin", "EXTRA=1", "HOME=/home/alice"});
  CHECK(prepared->cwd == "/data");
  CHECK(prepared->uid == 1000);
  CHECK(prepared->gid == 1000);
  CHECK(prepared->additional_gids == std::vector<std::uint32_t>{10, 50});
  REQUIRE(prepared->mounts.size() == 1);
  CHECK(prepared->mounts[0].type == (images::overlay_supported() ? "overlay" : "bind"));
  auto mounts = c.ask<std::vector<images::mount_spec>>(c.images, snap_mounts_atom::value,
                                                       std::string{"default/web"});
  REQUIRE(mounts);
  CHECK(*mounts == prepared->mounts);

  // The same key twice is refused and leaves the first intact.
  auto twice = c.ask<prepared_snapshot>(c.images, snap_prepare_atom::value, pr);
  REQUIRE_FALSE(twice);
  CHECK(error_code(twice.error()) == errc::already_exists);
  CHECK(error_message(twice.error()) == "snapshot \"default/web\" already exists");

  // An unknown user in the image fails and leaves no snapshot behind.
  pr.snapshot_key = "default/other";
  pr.user = "mallory";
  auto bad_user = c.ask<prepared_snapshot>(c.images, snap_prepare_atom::value, pr);
  REQUIRE_FALSE(bad_user);
  CHECK(error_code(bad_user.error()) == errc::not_found);
  CHECK(error_message(bad_user.error()) == "user \"mallory\" not found in the image's /etc/passwd");
  auto gone = c.ask<std::vector<images::mount_spec>>(c.images, snap_mounts_atom::value,
                                                     std::string{"default/other"});
  REQUIRE_FALSE(gone);
  CHECK(error_code(gone.error()) == errc::not_found);

  // Removing both names collects the blobs, but not the committed snapshots
  // the container still stands on.
  std::size_t blobs = blob_count(root);
  CHECK(blobs == 5);
  REQUIRE(c.ask<image_record>(c.images, img_remove_atom::value, std::string{"default"},
                              std::string{"docker.io/library/bb:mine"}));
  CHECK(blob_count(root) == 5);  // still named busybox:three
  REQUIRE(c.ask<image_record>(c.images, img_remove_atom::value, std::string{"default"}, rec.name));
  CHECK(blob_count(root) == 0);
  auto still = c.ask<std::vector<images::mount_spec>>(c.images, snap_mounts_atom::value,
                                                      std::string{"default/web"});
  CHECK(still);
  auto removed = c.ask<std::string>(c.images, snap_remove_atom::value, std::string{"default/web"});
  CHECK(removed);
}

TEST_CASE("images actor: refusals are berth errors naming the object", "[images]") {
  berth::test::temp_dir tmp;
  std::string root = tmp / "root";
  client c{root};
  import_request req;
  req.ns = "nowhere";
  req.archive_path = tmp / "missing.tar";
  auto no_ns = c.ask<std::vector<image_record>>(c.images, img_import_atom::value, req);
  REQUIRE_FALSE(no_ns);
  CHECK(error_code(no_ns.error()) == errc::not_found);
  CHECK(error_message(no_ns.error()) == "namespace \"nowhere\" not found");

  REQUIRE(
      c.ask<namespace_record>(c.store, put_ns_atom::value, namespace_record{"default", {}, {}}));
  req.ns = "default";
  berth::test::archive_tweaks t;
  t.corrupt_layer = true;
  auto built = berth::test::write_oci_archive(tmp / "bad.tar", berth::test::busybox_image(), t);
  req.archive_path = tmp / "bad.tar";
  auto bad = c.ask<std::vector<image_record>>(c.images, img_import_atom::value, req);
  REQUIRE_FALSE(bad);
  CHECK(error_code(bad.error()) == errc::invalid_argument);
  CHECK_THAT(error_message(bad.error()), Catch::StartsWith("cannot import " + req.archive_path +
                                                           ": digest mismatch for entry"));
  CHECK(blob_count(root) == 0);

  auto missing = c.ask<image_record>(c.images, img_get_atom::value, std::string{"default"},
                                     std::string{"docker.io/library/nope:latest"});
  REQUIRE_FALSE(missing);
  CHECK(error_message(missing.error()) ==
        "image \"docker.io/library/nope:latest\" in namespace \"default\" not found");
  auto bad_tag = c.ask<image_record>(c.images, img_tag_atom::value, std::string{"default"},
                                     std::string{"x"}, std::string{"Bad Name"});
  REQUIRE_FALSE(bad_tag);
  CHECK(error_code(bad_tag.error()) == errc::invalid_argument);
}

TEST_CASE(
    "images actor: a pull runs beside other requests, and garbage collection waits for it to end",
    "[images][pull]") {
  // A registry whose one layer is held back until the test lets it go.
  using berth::images::sha256_digest;
  std::string layer(4096, 'x');
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                       R"("diff_ids":[")" +
                       sha256_digest("diff") + R"("]}})";
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      sha256_digest(config) + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
      sha256_digest(layer) + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  std::promise<void> asked, release;
  auto released = release.get_future().share();
  berth::test::http_server server([&](const berth::test::http_request& r) {
    if (r.target.find("/manifests/") != std::string::npos)
      return berth::test::http_reply{200, {}, manifest};
    if (r.target.find(sha256_digest(config)) != std::string::npos)
      return berth::test::http_reply{200, {}, config};
    asked.set_value();
    released.wait();
    return berth::test::http_reply{200, {}, layer};
  });

  berth::test::temp_dir tmp;
  std::string root = tmp / "root";
  berth::test::write_oci_archive(tmp / "bb.tar", berth::test::busybox_image());
  client c{root};
  REQUIRE(
      c.ask<namespace_record>(c.store, put_ns_atom::value, namespace_record{"default", {}, {}}));
  import_request imp;
  imp.ns = "default";
  imp.archive_path = tmp / "bb.tar";
  REQUIRE(c.ask<std::vector<image_record>>(c.images, img_import_atom::value, imp));
  auto imported_blobs = blob_count(root);

  pull_request pr;
  pr.ns = "default";
  pr.reference = server.host() + "/lib/app:1";
  pr.plain_http = true;
  auto pulled = std::async(std::launch::async, [&] {
    caf::scoped_actor other{c.sys};
    std::optional<caf::expected<image_record>> out;
    other->request(c.images, 60s, img_pull_atom::value, pr)
        .receive([&](image_record& x) { out.emplace(std::move(x)); },
                 [&](caf::error& err) { out.emplace(std::move(err)); });
    return std::move(*out);
  });
  REQUIRE(asked.get_future().wait_for(30s) == std::future_status::ready);

  // The pull waits on its layer; the actor still answers, at once.
  auto listed = c.ask_within<std::vector<image_record>>(5s, c.images, img_list_atom::value,
                                                        std::string{"default"});
  REQUIRE(listed);
  CHECK(listed->size() == 1);
  // Removing the imported image answers too, but its blobs wait: the
  // collection would take the pull's config, not yet named by any image.
  REQUIRE(c.ask_within<image_record>(5s, c.images, img_remove_atom::value, std::string{"default"},
                                     std::string{"docker.io/library/busybox:latest"}));
  CHECK(blob_count(root) == imported_blobs + 1);

  release.set_value();
  auto rec = pulled.get();
  REQUIRE(rec);
  CHECK(rec->target == sha256_digest(manifest));
  // The collection ran when the pull ended: only the pulled image is left.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (blob_count(root) != 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(blob_count(root) == 3);  // manifest, config, layer
  CHECK(c.ask<image_record>(c.images, img_get_atom::value, std::string{"default"}, rec->name));
}
