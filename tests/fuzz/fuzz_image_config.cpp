// Fuzz target image_config: an image's config and /etc files → the
// container's process → its OCI runtime spec, the path `berth c create
// IMAGE` takes (parse_image_config and make_process in
// actors/images/image_config.*, then generate_spec in
// actors/daemon/oci_spec.*, as registry_actor.cpp's prepare_from_image
// calls it).
//
// Input: NUL-separated parts, missing ones empty:
//   config JSON \0 /etc/passwd \0 /etc/group \0 user override \0 cwd override
// The /etc files are written into a scratch root filesystem
// (fuzz_temp_dir.hpp); the overrides stand for `berth c create --user/--cwd`.
// Refusals are fine: an images_error, an error value from generate_spec.
// Findings: a crash, a sanitizer report, any other exception, a spec that
// is not JSON or lacks the process it was made from.
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/daemon/oci_spec.hpp"
#include "actors/errors.hpp"
#include "actors/images/image_config.hpp"
#include "actors/images/images_error.hpp"
#include "fuzz_temp_dir.hpp"

namespace {

using namespace berth;

[[noreturn]] void finding(const std::string& what) {
  std::cerr << "fuzz_image_config: " << what << "\n";
  std::abort();
}

std::vector<std::string> parts_of(const std::uint8_t* data, std::size_t size, std::size_t n) {
  std::vector<std::string> parts(n);
  std::size_t i = 0;
  for (std::size_t k = 0; k < size; ++k) {
    if (data[k] == 0 && i + 1 < n) {
      ++i;
      continue;
    }
    parts[i].push_back(static_cast<char>(data[k]));
  }
  return parts;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parts = parts_of(data, size, 5);
  std::string rootfs = fuzz::fresh_dir("rootfs");
  ::mkdir((rootfs + "/etc").c_str(), 0755);
  if (!parts[1].empty()) write_file(rootfs + "/etc/passwd", parts[1]);
  if (!parts[2].empty()) write_file(rootfs + "/etc/group", parts[2]);

  images::process_params p;
  images::image_config config;
  try {
    config = images::parse_image_config(parts[0], "config of the fuzzed image");
    images::process_overrides o;
    o.user = parts[3];
    o.cwd = parts[4];
    p = images::make_process(config, o, rootfs);
  } catch (const images::images_error&) {
    return 0;
  } catch (const std::exception& e) {
    finding(std::string("not an images_error: ") + e.what());
  }

  // registry_actor.cpp's prepare_from_image: the resolved process into the options.
  container_options opts;
  opts.args = p.args;
  opts.env = p.env;
  opts.cwd = p.cwd;
  opts.uid = p.user.uid;
  opts.gid = p.user.gid;
  opts.additional_gids = p.user.additional_gids;
  auto spec = generate_spec("default", "fuzz", opts, "rootfs");
  if (!spec) {
    auto msg = error_message(spec.error());
    // generate_spec's safety net (an exception while writing) must not be
    // what refuses an image: its checks should have named the problem.
    if (msg.find("cannot write its OCI spec") != std::string::npos)
      finding("generate_spec threw: " + msg);
    if (msg.find("fuzz") == std::string::npos)
      finding("a refusal that does not name the container: " + msg);
    return 0;
  }
  auto j = nlohmann::json::parse(*spec, nullptr, false);
  if (j.is_discarded()) finding("the spec is not JSON");
  if (!j.contains("process") ||
      j["process"].value("args", nlohmann::json()) != nlohmann::json(p.args))
    finding("the spec does not run the image's command");
  if (j["process"]["user"].value("uid", std::int64_t{-1}) != static_cast<std::int64_t>(p.user.uid))
    finding("the spec does not run as the resolved user");
  return 0;
}
