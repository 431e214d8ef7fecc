#include "cli/create_options.hpp"

#include <filesystem>
#include <limits>
#include <stdexcept>

#include "cli/flag_values.hpp"
#include "schema/device_mapping.hpp"
#include "schema/log_limits.hpp"

namespace berth::cli {

void add_create_options(CLI::App& verb, create_options& o) {
  verb.positionals_at_end();
  verb.add_option("--runtime", o.runtime, "runtime name (default: the daemon's, io.berth.runc.v1)");
  verb.add_option("--env", o.env, "add an environment variable (repeatable)")
      ->allow_extra_args(false)
      ->check(env_validator());
  verb.add_option("--label", o.labels, "add a label to the container (repeatable)")
      ->allow_extra_args(false)
      ->check(label_validator());
  verb.add_option("--mount", o.mounts, "add a mount (repeatable)")
      ->allow_extra_args(false)
      ->check(mount_validator());
  verb.add_option("--cwd", o.cwd, "working directory of the process");
  verb.add_option("-u,--user", o.user, "user (and group) to run as")->check(user_validator());
  verb.add_option("--rootfs", o.rootfs,
                  "use this prepared root filesystem directory instead of the image's")
      ->check(CLI::ExistingDirectory);
  verb.add_option("--hostname", o.hostname, "hostname inside the container");
  verb.add_option("--pull", o.pull,
                  "pull the image first: missing (when not here), always, or never (default)")
      ->check(CLI::IsMember({"missing", "always", "never"}));
  verb.add_flag("--net-host", o.net_host, "share the host's network namespace");
  verb.add_flag("-t,--tty", o.tty, "allocate a terminal for the process");
  verb.add_flag("--read-only", o.read_only, "mount the root filesystem read-only");
  verb.add_option("--memory-limit", o.memory_limit, "memory limit in bytes (512m, 1g, ...)")
      ->transform(CLI::AsSizeValue(false));
  verb.add_option("--cpus", o.cpus, "CPU limit, in CPUs (1.5)")->check(CLI::NonNegativeNumber);
  verb.add_flag("--privileged", o.privileged,
                "every capability and device, no seccomp profile, no masked paths");
  verb.add_option("--cap-add", o.cap_add,
                  "add a Linux capability to the default set: NET_ADMIN, CAP_SYS_PTRACE, or ALL "
                  "(repeatable)")
      ->allow_extra_args(false)
      ->check(capability_validator("--cap-add"));
  verb.add_option("--cap-drop", o.cap_drop,
                  "drop a Linux capability from the default set, or ALL (repeatable)")
      ->allow_extra_args(false)
      ->check(capability_validator("--cap-drop"));
  verb.add_option("--device", o.devices,
                  "give the container a host device: HOST[:CONTAINER[:PERMS]], PERMS some of rwm "
                  "(repeatable)")
      ->allow_extra_args(false)
      ->check(device_validator());
  verb.add_option("--security-opt", o.security_opts,
                  "seccomp=unconfined (no seccomp profile) or seccomp=default (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::IsMember({"seccomp=unconfined", "seccomp=default"}));
  verb.add_option("--pids-limit", o.pids_limit,
                  "most processes the container may have (-1: no limit; default: berthd's)")
      ->check(CLI::Range(int64_t{-1}, std::numeric_limits<int64_t>::max()));
  verb.add_option_function<std::string>(
          "--log-max-size",
          [&o](const std::string& text) {
            o.log_max_size = berth::parse_log_size(text, "--log-max-size");
          },
          "task log bytes per file before it rotates (10m, 1g; default: the daemon's, 10m)")
      ->check([](const std::string& text) -> std::string {
        try {
          berth::parse_log_size(text, "--log-max-size");
          return "";
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      });
  verb.add_option("--log-max-files", o.log_max_files,
                  "task log files kept, the current one included (default: the daemon's, 2)")
      ->check([](const std::string& text) -> std::string {
        try {
          if (std::stoll(text) > 0) return "";
        } catch (const std::exception&) {
        }
        return "--log-max-files \"" + text + "\": must be a positive number";
      });
  verb.add_option("IMAGE", o.image, "image reference")->required();
  verb.add_option("ID", o.id, "container id")->required();
  verb.add_option("ARGS", o.args, "command and arguments (default: the image's)");
}

std::vector<std::string> command_args(const std::vector<std::string>& args) {
  if (!args.empty() && args.front() == "--") return {args.begin() + 1, args.end()};
  return args;
}

void fill_create_request(const create_options& o, const std::string& ns,
                         wire::api::CreateContainerRequest::Builder req) {
  req.setNamespace(ns);
  req.setId(o.id);
  req.setImage(o.image);
  req.setRuntime(o.runtime);
  auto labels = req.initLabels(static_cast<unsigned>(o.labels.size()));
  for (unsigned i = 0; i < o.labels.size(); ++i) {
    auto kv = parse_key_value(o.labels[i], "--label");
    labels[i].setKey(kv.key);
    labels[i].setValue(kv.value);
  }

  auto options = req.initOptions();
  auto process = options.initProcess();
  auto args = command_args(o.args);
  auto wire_args = process.initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i) wire_args.set(i, args[i]);
  auto env = process.initEnv(static_cast<unsigned>(o.env.size()));
  for (unsigned i = 0; i < o.env.size(); ++i) env.set(i, o.env[i]);
  process.setCwd(o.cwd);
  process.setTerminal(o.tty);
  if (!o.user.empty()) {
    auto parsed = parse_user(o.user);
    auto user = process.initUser();
    if (parsed.uid) {
      user.setUid(*parsed.uid);
      user.setGid(parsed.gid.value_or(0));
    } else {
      user.setName(parsed.name);
    }
  }

  auto mounts = options.initMounts(static_cast<unsigned>(o.mounts.size()));
  for (unsigned i = 0; i < o.mounts.size(); ++i) {
    auto m = parse_mount(o.mounts[i]);
    mounts[i].setType(m.type);
    mounts[i].setSource(m.source);
    mounts[i].setDestination(m.destination);
    auto opts = mounts[i].initOptions(static_cast<unsigned>(m.options.size()));
    for (unsigned j = 0; j < m.options.size(); ++j) opts.set(j, m.options[j]);
  }
  options.setRootfs(o.rootfs.empty() ? "" : std::filesystem::absolute(o.rootfs).string());
  options.setNetHost(o.net_host);
  options.setReadonlyRootfs(o.read_only);
  options.setMemoryLimit(static_cast<int64_t>(o.memory_limit));
  options.setLogMaxSize(static_cast<int64_t>(o.log_max_size));
  options.setLogMaxFiles(static_cast<int32_t>(o.log_max_files));
  options.setCpus(o.cpus);
  options.setHostname(o.hostname);
  for (const auto& s : o.security_opts) options.setSeccomp(s.substr(s.find('=') + 1));
  options.setPrivileged(o.privileged);
  options.setPidsLimit(o.pids_limit);
  auto cap_add = options.initCapAdd(static_cast<unsigned>(o.cap_add.size()));
  for (unsigned i = 0; i < o.cap_add.size(); ++i) cap_add.set(i, o.cap_add[i]);
  auto cap_drop = options.initCapDrop(static_cast<unsigned>(o.cap_drop.size()));
  for (unsigned i = 0; i < o.cap_drop.size(); ++i) cap_drop.set(i, o.cap_drop[i]);
  auto devices = options.initDevices(static_cast<unsigned>(o.devices.size()));
  for (unsigned i = 0; i < o.devices.size(); ++i) {
    auto d = berth::parse_device_mapping(o.devices[i]);
    devices[i].setHostPath(d.host_path);
    devices[i].setContainerPath(d.container_path);
    devices[i].setPermissions(d.permissions);
  }
}

}  // namespace berth::cli
