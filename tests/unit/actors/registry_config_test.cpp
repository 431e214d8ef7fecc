// config.toml's [registry."host:port"] tables: a CA, plain HTTP and mirrors
// per registry, carried to the library's configuration; bad values name the key.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/daemon/daemon_config.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using berth::test::temp_dir;

TEST_CASE("config.toml's [registry.\"host:port\"] entries", "[registry]") {
  temp_dir dir;
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "config.toml") << text;
    return dir / "config.toml";
  };
  daemon_config cfg;
  REQUIRE(load_config_file(write("[registry.\"registry.example:5000\"]\n"
                                 "ca = \"/etc/berth/certs/example.crt\"\n"
                                 "[registry.\"docker.io\"]\n"
                                 "mirrors = [\"mirror.local:5000\", \"10.0.0.2\"]\n"
                                 "[registry.\"127.0.0.1:5999\"]\nplain_http = true\n"),
                           cfg, true) == "");
  REQUIRE(cfg.registries.size() == 3);
  CHECK(cfg.registries["registry.example:5000"].ca == "/etc/berth/certs/example.crt");
  CHECK_FALSE(cfg.registries["registry.example:5000"].plain_http);
  CHECK(cfg.registries["docker.io"].mirrors ==
        std::vector<std::string>{"mirror.local:5000", "10.0.0.2"});
  CHECK(cfg.registries["127.0.0.1:5999"].plain_http);
  auto b = to_berth_config(cfg, "/bin/true");
  CHECK(b.registries.at("docker.io").mirrors.size() == 2);

  daemon_config bad;
  CHECK_THAT(load_config_file(write("[registry.\"r:1\"]\nca = \"relative.crt\"\n"), bad, true),
             Catch::Contains("registry.\"r:1\".ca must be an absolute path"));
  CHECK_THAT(load_config_file(write("[registry.\"r:1\"]\nplain_http = \"yes\"\n"), bad, true),
             Catch::Contains("registry.\"r:1\".plain_http must be true or false"));
  CHECK_THAT(load_config_file(write("[registry.\"r:1\"]\nmirrors = \"m:1\"\n"), bad, true),
             Catch::Contains("registry.\"r:1\".mirrors must be a list of hosts"));
  CHECK_THAT(load_config_file(write("registry = 3\n"), bad, true),
             Catch::Contains("registry must be a table"));
}
