// The parts of an OCI image config a container's process is made from, and
// the rules that turn them plus the user's choices into args, env, cwd and
// ids. User and group names are looked up in the image's own /etc/passwd and
// /etc/group, read with symlinks resolved inside the root filesystem.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::images {

struct image_config {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string working_dir;
  std::string user;  // "", "name", "uid", "name:group", "uid:gid"
  std::map<std::string, std::string> labels;
  std::string os, architecture;
};

// Throws images_error (invalid_argument) naming `what` when the JSON is bad.
image_config parse_image_config(const std::string& json, const std::string& what = "image config");

// What the user asked for at create time; empty fields keep the image's.
struct process_overrides {
  std::vector<std::string> args;  // replace the image's cmd (the entrypoint stays)
  std::vector<std::string> env;   // "K=V", replacing the image's value of K
  std::string cwd;
  std::string user;
};

struct resolved_user {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string home;  // from /etc/passwd, "/" when unknown
};

// The values the OCI runtime spec's process is built from.
struct process_params {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  resolved_user user;
};

// Resolves `user` against `rootfs`'s /etc/passwd and /etc/group. A name not
// found is a not_found error naming the file; numeric ids need no entry.
resolved_user resolve_user(const std::string& user, const std::string& rootfs);

// Whether make_process reads `rootfs`: only a user to resolve needs the
// image's /etc/passwd and /etc/group; root (no user given) needs nothing.
bool needs_rootfs(const image_config& config, const process_overrides& overrides);

// Entrypoint + (args or cmd), env merged with PATH and HOME defaults, cwd
// (default "/"), user resolved. invalid_argument when there is no command.
process_params make_process(const image_config& config, const process_overrides& overrides,
                            const std::string& rootfs);

}  // namespace berth::images
