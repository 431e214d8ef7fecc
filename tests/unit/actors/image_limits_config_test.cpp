// config.toml's [images] table: what one untrusted image may cost berthd,
// read into the images actor's limits; bad values name the key.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/daemon/daemon_config.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using berth::test::temp_dir;

TEST_CASE("config.toml's [images] sets the image limits", "[image_limits]") {
  temp_dir dir;
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "config.toml") << text;
    return dir / "config.toml";
  };
  daemon_config defaults;
  CHECK(load_config_file(write("root = \"/tmp/x\"\n"), defaults, true) == "");
  CHECK(defaults.image_limits.max_unpacked_bytes == std::int64_t{64} << 30);
  CHECK(defaults.image_limits.max_layer_entries == 1000000);
  CHECK(defaults.image_limits.free_space_reserve == std::int64_t{256} << 20);
  CHECK_FALSE(defaults.image_limits.keep_privileged_xattrs);

  daemon_config cfg;
  CHECK(load_config_file(write("[images]\nmax_unpacked_size = \"2g\"\nmax_layer_entries = 50\n"
                               "free_space_reserve = 0\nkeep_privileged_xattrs = true\n"),
                         cfg, true) == "");
  CHECK(cfg.image_limits.max_unpacked_bytes == std::int64_t{2} << 30);
  CHECK(cfg.image_limits.max_layer_entries == 50);
  CHECK(cfg.image_limits.free_space_reserve == 0);
  CHECK(cfg.image_limits.keep_privileged_xattrs);
  auto b = to_berth_config(cfg, "/bin/true");
  CHECK(b.image_limits.max_unpacked_bytes == std::int64_t{2} << 30);
  CHECK(b.image_limits.keep_privileged_xattrs);

  daemon_config bad;
  CHECK_THAT(load_config_file(write("[images]\nmax_unpacked_size = \"lots\"\n"), bad, true),
             Catch::Contains("images.max_unpacked_size \"lots\""));
  // Past what a signed 64-bit size holds: refused, not read as negative.
  CHECK_THAT(load_config_file(write("[images]\nfree_space_reserve = \"9000000t\"\n"), bad, true),
             Catch::Contains("images.free_space_reserve \"9000000t\" is too large"));
  CHECK_THAT(load_config_file(write("[images]\nmax_layer_entries = 0\n"), bad, true),
             Catch::Contains("images.max_layer_entries must be a positive number"));
  CHECK(defaults.image_limits.max_concurrent_downloads == 3);
  daemon_config downloads;
  CHECK(load_config_file(write("[images]\nmax_concurrent_downloads = 8\n"), downloads, true) == "");
  CHECK(downloads.image_limits.max_concurrent_downloads == 8);
  CHECK_THAT(load_config_file(write("[images]\nmax_concurrent_downloads = 0\n"), bad, true),
             Catch::Contains("images.max_concurrent_downloads must be a number from 1 to 64"));
  CHECK_THAT(load_config_file(write("[images]\nkeep_privileged_xattrs = \"yes\"\n"), bad, true),
             Catch::Contains("images.keep_privileged_xattrs must be true or false"));
  CHECK_THAT(load_config_file(write("images = 3\n"), bad, true),
             Catch::Contains("images must be a table"));
}
