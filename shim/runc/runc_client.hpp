// The shim's client for OCI runtimes (runc, crun): builds their command lines,
// starts them without waiting, and turns a failed run into one clear message.
//
// Plain C++ on purpose (no KJ, CAF or logging library): it is linked statically
// into every shim, and its tests run without an event loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runc {

// Which runtime a binary is. runc 1.1 and crun 1.8 accept the same global flags
// and the same subcommand flags berth uses (checked against both), so the kind
// only changes how errors read and what is known to be missing (crun 1.8.1 as
// Debian ships it has no `checkpoint`).
enum class runtime_kind { runc, crun };

// "crun" when the basename of `binary` contains "crun" (crun, /usr/bin/crun,
// crun-private-ns), else "runc".
runtime_kind detect_kind(std::string_view binary);
std::string_view kind_name(runtime_kind kind);

// Every field has a default initializer, so designated initializers
// ({.binary = "crun"}) compile clean under -Wextra.
struct runtime_config {
  std::string binary = "runc";         // "runc", "crun", or a path (a wrapper script works)
  std::string root{};                  // global --root; empty = the runtime's default
  std::string log_dir{};               // per-invocation logs; empty = the system temp dir
  std::optional<runtime_kind> kind{};  // empty = detect_kind(binary)
};

// File descriptors the runtime gets as stdin/stdout/stderr; they are dup'ed,
// never closed. -1 means /dev/null, except stderr of operations that do not
// hand their stdio to a container (all but create/run/exec): that goes into the
// invocation's log file, because crun prints some errors ("unknown command
// checkpoint") only to stderr.
struct spawn_stdio {
  int in = -1;
  int out = -1;
  int err = -1;
  // Stdout into a pipe whose read end is invocation::stdout_fd (overrides
  // `out`). Only for short-lived output (ps, state): create and exec hand the
  // pipe to the container, which would keep it open.
  bool capture_stdout = false;
};

// One started runtime process. Move-only: it owns the read end of the stdout
// pipe, if any. The log file is removed by runc_client::finish.
struct invocation {
  pid_t pid = -1;
  std::string operation;  // e.g. "create"; names the call in error messages
  std::string log_path;
  int stdout_fd = -1;  // read end when stdout was captured, else -1

  invocation() = default;
  invocation(invocation&& other) noexcept;
  invocation& operator=(invocation&& other) noexcept;
  invocation(const invocation&) = delete;
  invocation& operator=(const invocation&) = delete;
  ~invocation();
};

class runc_client {
 public:
  explicit runc_client(runtime_config cfg);

  const runtime_config& config() const { return cfg_; }
  runtime_kind kind() const { return kind_; }
  // Basename of the binary: how errors name the runtime.
  const std::string& name() const { return name_; }

  // Pure builders: the arguments after the global flags. Flags always come
  // before the container id (runc's CLI parser stops at the first positional).
  static std::vector<std::string> create_args(const std::string& id, const std::string& bundle,
                                              const std::string& pid_file,
                                              const std::string& console_socket = {});
  static std::vector<std::string> start_args(const std::string& id);
  // `run --detach`: create and start in one runtime process.
  static std::vector<std::string> run_detached_args(const std::string& id,
                                                    const std::string& bundle,
                                                    const std::string& pid_file,
                                                    const std::string& console_socket);
  static std::vector<std::string> delete_args(const std::string& id, bool force = false);
  static std::vector<std::string> kill_args(const std::string& id, int signal, bool all = false);
  static std::vector<std::string> pause_args(const std::string& id);
  static std::vector<std::string> resume_args(const std::string& id);
  static std::vector<std::string> ps_args(const std::string& id);  // ps --format json
  static std::vector<std::string> exec_args(const std::string& id,
                                            const std::string& process_json_path,
                                            const std::string& pid_file,
                                            const std::string& console_socket = {},
                                            bool detach = true);
  static std::vector<std::string> update_args(const std::string& id,
                                              const std::string& resources_json_path);
  static std::vector<std::string> checkpoint_args(const std::string& id,
                                                  const std::string& image_path,
                                                  bool leave_running = false,
                                                  const std::string& work_path = {});
  static std::vector<std::string> state_args(const std::string& id);

  // The full argv: binary, global flags (--root R if set, --log L,
  // --log-format json), then `args`.
  std::vector<std::string> argv(const std::string& log_path,
                                const std::vector<std::string>& args) const;

  // Starts the runtime with posix_spawn and returns at once: the caller (the
  // shim's reaper) waits for it. The child gets an empty signal mask and default
  // dispositions (the shim blocks SIGCHLD for its signalfd) and no fds but 0-2.
  // Throws std::system_error ("cannot run runc: No such file or directory") when
  // the runtime cannot be started, std::runtime_error for a bad log dir.
  invocation spawn(std::string operation, const std::vector<std::string>& args,
                   spawn_stdio io = {});

  // Given the runtime's wait status (from waitpid): nullopt when it exited 0,
  // else "<name> <operation> failed: <reason>", where the reason is the msg of
  // the last error/fatal line of the JSON log, else the last log line, else
  // "exit status N" / "killed by signal N". Removes the log file either way.
  std::optional<std::string> finish(const invocation& inv, int wait_status) const;

  // All of the captured stdout; call once the runtime has exited (or read it
  // before waiting, as run_sync does). Closes the fd.
  static std::string read_captured(invocation& inv);

  // Blocking: spawn, read stdout into `out` (if non-null), waitpid, finish.
  // For tools and tests; the shim itself must use spawn and its reaper.
  std::optional<std::string> run_sync(std::string operation, const std::vector<std::string>& args,
                                      std::string* out = nullptr, spawn_stdio io = {});

 private:
  std::string new_log_path(std::string_view operation, int* fd);

  runtime_config cfg_;
  runtime_kind kind_;
  std::string name_;
};

// "killed by signal N" / "exit status N" / "exited" for a waitpid status.
std::string describe_wait_status(int wait_status);

// Picks the reason out of a runtime's log text (see runc_client::finish);
// empty when the log has no usable line. Exposed for tests.
std::string reason_from_log(std::string_view log_text);

// Parses `runc ps --format json` / `crun ps --format json` output: a JSON array
// of pids ("null" when runc finds none). Throws std::runtime_error if malformed.
std::vector<int> parse_ps_output(std::string_view json);

// The LinuxResources JSON that `runc update --resources FILE` and crun's
// equivalent read. 0 leaves a value unset (omitted); -1 means unlimited where
// the runtime allows it (memory, quota, pids).
std::string resources_json(int64_t memory_limit, int64_t cpu_quota, uint64_t cpu_period,
                           uint64_t cpu_shares, int64_t pids_limit);

}  // namespace berth::runc
