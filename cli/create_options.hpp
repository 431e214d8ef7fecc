// The flags of `berth c create` that `berth run` shares: what a container
// is made from (IMAGE ID [ARGS…]) and what it gets on top of the image's own
// configuration. Parsed by CLI11 with the validators of flag_values.hpp;
// turned into a CreateContainerRequest here and nowhere else.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "schema/api.capnp.h"

namespace berth::cli {

struct create_options {
  std::string runtime;
  std::vector<std::string> env, labels, mounts;
  std::string cwd, user, rootfs, hostname;
  bool net_host = false;
  bool tty = false;
  bool read_only = false;
  uint64_t memory_limit = 0;
  double cpus = 0;
  bool privileged = false;
  std::vector<std::string> security_opts;      // seccomp=unconfined|default
  int64_t pids_limit = 0;                      // 0: berthd's default; -1: none
  uint64_t log_max_size = 0;                   // 0: the daemon's default
  int64_t log_max_files = 0;                   // 0: the daemon's default
  std::vector<std::string> cap_add, cap_drop;  // capability names or ALL
  std::vector<std::string> devices;            // HOST[:CONTAINER[:PERMS]]
  std::string pull = "never";                  // missing, always or never (as ctr: never)
  std::string image, id;
  std::vector<std::string> args;  // replace the image's command when given
};

// Adds the flags and the IMAGE ID [ARGS…] positionals to `verb`. Flags
// stop at IMAGE, as with ctr: `berth run img web sh -c 'exit 7'` passes
// `-c` to sh.
void add_create_options(CLI::App& verb, create_options& opts);

// Fills a request for namespace `ns` from parsed (so valid) options.
void fill_create_request(const create_options& opts, const std::string& ns,
                         wire::api::CreateContainerRequest::Builder req);

// ARGS as typed, without a leading "--" (CLI11 keeps it once positionals
// began).
std::vector<std::string> command_args(const std::vector<std::string>& args);

}  // namespace berth::cli
