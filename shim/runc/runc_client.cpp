#include "shim/runc/runc_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

extern char** environ;

namespace berth::runc {

namespace {

std::string_view basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Closes an fd on scope exit unless released.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  fd_guard(fd_guard&& other) noexcept : fd_(other.release()) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// posix_spawn's attribute and file-action objects, destroyed on scope exit.
struct spawn_objects {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  spawn_objects() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~spawn_objects() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_objects(const spawn_objects&) = delete;
  spawn_objects& operator=(const spawn_objects&) = delete;
};

void check_spawn_call(int rc, const char* what) {
  if (rc != 0) throw_errno(rc, std::string("cannot prepare runtime process: ") + what);
}

std::string read_all_fd(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return out;
    } else if (errno != EINTR) {
      throw_errno(errno, "cannot read runtime output");
    }
  }
}

// Reads a whole (small) file; empty if it does not exist.
std::string read_file_or_empty(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  fd_guard guard(fd);
  try {
    return read_all_fd(fd);
  } catch (const std::system_error&) {
    return {};
  }
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Operations whose stdio the runtime passes on to the container process.
bool hands_stdio_to_container(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  const auto& op = args.front();
  return op == "create" || op == "run" || op == "exec";
}

}  // namespace

runtime_kind detect_kind(std::string_view binary) {
  return basename_of(binary).find("crun") != std::string_view::npos ? runtime_kind::crun
                                                                    : runtime_kind::runc;
}

std::string_view kind_name(runtime_kind kind) {
  return kind == runtime_kind::crun ? "crun" : "runc";
}

// ---------------------------------------------------------------- invocation

invocation::invocation(invocation&& other) noexcept
    : pid(std::exchange(other.pid, -1)),
      operation(std::move(other.operation)),
      log_path(std::move(other.log_path)),
      stdout_fd(std::exchange(other.stdout_fd, -1)) {}

invocation& invocation::operator=(invocation&& other) noexcept {
  if (this != &other) {
    if (stdout_fd >= 0) ::close(stdout_fd);
    pid = std::exchange(other.pid, -1);
    operation = std::move(other.operation);
    log_path = std::move(other.log_path);
    stdout_fd = std::exchange(other.stdout_fd, -1);
  }
  return *this;
}

invocation::~invocation() {
  if (stdout_fd >= 0) ::close(stdout_fd);
}

// ---------------------------------------------------------------- builders

runc_client::runc_client(runtime_config cfg)
    : cfg_(std::move(cfg)),
      kind_(cfg_.kind.value_or(detect_kind(cfg_.binary))),
      name_(basename_of(cfg_.binary)) {
  if (cfg_.binary.empty()) throw std::invalid_argument("runtime binary must not be empty");
  if (cfg_.log_dir.empty()) cfg_.log_dir = std::filesystem::temp_directory_path().string();
}

std::vector<std::string> runc_client::create_args(const std::string& id, const std::string& bundle,
                                                  const std::string& pid_file,
                                                  const std::string& console_socket) {
  std::vector<std::string> a{"create", "--bundle", bundle};
  if (!pid_file.empty()) a.insert(a.end(), {"--pid-file", pid_file});
  if (!console_socket.empty()) a.insert(a.end(), {"--console-socket", console_socket});
  a.push_back(id);
  return a;
}

std::vector<std::string> runc_client::start_args(const std::string& id) {
  return {"start", id};
}

std::vector<std::string> runc_client::run_detached_args(const std::string& id,
                                                        const std::string& bundle,
                                                        const std::string& pid_file,
                                                        const std::string& console_socket) {
  auto a = create_args(id, bundle, pid_file, console_socket);
  a.front() = "run";
  a.insert(a.begin() + 1, "--detach");
  return a;
}

std::vector<std::string> runc_client::delete_args(const std::string& id, bool force) {
  if (force) return {"delete", "--force", id};
  return {"delete", id};
}

std::vector<std::string> runc_client::kill_args(const std::string& id, int signal, bool all) {
  // A number, not a name: both runtimes parse numbers, and names differ in
  // spelling (KILL vs SIGKILL) across versions.
  std::vector<std::string> a{"kill"};
  if (all) a.push_back("--all");
  a.push_back(id);
  a.push_back(std::to_string(signal));
  return a;
}

std::vector<std::string> runc_client::pause_args(const std::string& id) {
  return {"pause", id};
}

std::vector<std::string> runc_client::resume_args(const std::string& id) {
  return {"resume", id};
}

std::vector<std::string> runc_client::ps_args(const std::string& id) {
  return {"ps", "--format", "json", id};
}

std::vector<std::string> runc_client::exec_args(const std::string& id,
                                                const std::string& process_json_path,
                                                const std::string& pid_file,
                                                const std::string& console_socket, bool detach) {
  std::vector<std::string> a{"exec", "--process", process_json_path};
  if (detach) a.push_back("--detach");
  if (!pid_file.empty()) a.insert(a.end(), {"--pid-file", pid_file});
  if (!console_socket.empty()) a.insert(a.end(), {"--console-socket", console_socket});
  a.push_back(id);
  return a;
}

std::vector<std::string> runc_client::update_args(const std::string& id,
                                                  const std::string& resources_json_path) {
  return {"update", "--resources", resources_json_path, id};
}

std::vector<std::string> runc_client::checkpoint_args(const std::string& id,
                                                      const std::string& image_path,
                                                      bool leave_running,
                                                      const std::string& work_path) {
  std::vector<std::string> a{"checkpoint", "--image-path", image_path};
  if (!work_path.empty()) a.insert(a.end(), {"--work-path", work_path});
  if (leave_running) a.push_back("--leave-running");
  a.push_back(id);
  return a;
}

std::vector<std::string> runc_client::state_args(const std::string& id) {
  return {"state", id};
}

std::vector<std::string> runc_client::argv(const std::string& log_path,
                                           const std::vector<std::string>& args) const {
  std::vector<std::string> v{cfg_.binary};
  if (!cfg_.root.empty()) v.insert(v.end(), {"--root", cfg_.root});
  v.insert(v.end(), {"--log", log_path, "--log-format", "json"});
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

// ---------------------------------------------------------------- spawning

std::string runc_client::new_log_path(std::string_view operation, int* fd) {
  // pid + counter names are unique per shim; O_EXCL catches the rest (a
  // recycled pid, shims sharing a log dir).
  static std::atomic<unsigned> counter{0};
  std::string label(operation);  // a label, but it becomes part of a file name
  for (char& c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string path = cfg_.log_dir + "/" + name_ + "-" + label + "-" + std::to_string(::getpid()) +
                       "-" + std::to_string(counter++) + ".log";
    int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (f >= 0) {
      *fd = f;
      return path;
    }
    if (errno != EEXIST) throw_errno(errno, "cannot create runtime log file " + path);
  }
  throw std::runtime_error("cannot create a unique runtime log file in " + cfg_.log_dir);
}

invocation runc_client::spawn(std::string operation, const std::vector<std::string>& args,
                              spawn_stdio io) {
  invocation inv;
  inv.operation = std::move(operation);

  int log_raw = -1;
  inv.log_path = new_log_path(inv.operation, &log_raw);
  fd_guard log_fd(log_raw);
  // Any failure below must not leave the log file behind.
  struct log_remover {
    const std::string* path;
    ~log_remover() {
      if (path) ::unlink(path->c_str());
    }
  } remove_log{&inv.log_path};

  fd_guard pipe_read, pipe_write;
  if (io.capture_stdout) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(errno, "cannot create a pipe for runtime output");
    pipe_read.reset(p[0]);
    pipe_write.reset(p[1]);
    io.out = p[1];
  }
  if (io.err < 0 && !hands_stdio_to_container(args)) io.err = log_fd.get();

  spawn_objects so;
  // The shim blocks SIGCHLD (signalfd) and may ignore SIGPIPE; both survive
  // exec, and runc, then the container, must not start with either.
  sigset_t none, all;
  sigemptyset(&none);
  // Every bit, not sigfillset: that leaves out glibc's internal signals 32 and
  // 33, which glibc's posix_spawn then sets to SIG_IGN in the child, and the
  // ignore would survive exec into every container process.
  std::memset(&all, 0xff, sizeof all);
  check_spawn_call(posix_spawnattr_setsigmask(&so.attr, &none), "sigmask");
  check_spawn_call(posix_spawnattr_setsigdefault(&so.attr, &all), "sigdefault");
  check_spawn_call(
      posix_spawnattr_setflags(&so.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF), "flags");

  // A caller's fd that already sits at 0-2 could be overwritten by an earlier
  // dup2; move such fds out of the way first.
  std::vector<fd_guard> moved;
  int wanted[3] = {io.in, io.out, io.err};
  for (int target = 0; target < 3; ++target) {
    int fd = wanted[target];
    if (fd >= 0 && fd <= 2 && fd != target) {
      int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (high < 0) throw_errno(errno, "cannot duplicate stdio fd for runtime");
      moved.emplace_back(high);
      wanted[target] = high;
    }
  }
  for (int target = 0; target < 3; ++target) {
    if (wanted[target] < 0) {
      check_spawn_call(posix_spawn_file_actions_addopen(&so.actions, target, "/dev/null",
                                                        target == 0 ? O_RDONLY : O_WRONLY, 0),
                       "open /dev/null");
    } else {
      // dup2 onto itself also clears FD_CLOEXEC (glibc >= 2.29, POSIX 2018).
      check_spawn_call(posix_spawn_file_actions_adddup2(&so.actions, wanted[target], target),
                       "dup2");
    }
  }
  // Belt and braces: fds a caller forgot to mark O_CLOEXEC must not reach the
  // runtime, and through it the container.
  check_spawn_call(posix_spawn_file_actions_addclosefrom_np(&so.actions, 3), "closefrom");

  std::vector<std::string> full = argv(inv.log_path, args);
  std::vector<char*> cargv;
  cargv.reserve(full.size() + 1);
  for (auto& s : full) cargv.push_back(s.data());
  cargv.push_back(nullptr);

  pid_t pid = -1;
  // No slash: search PATH, as a shell would for "runc".
  bool search_path = cfg_.binary.find('/') == std::string::npos;
  int rc =
      search_path
          ? posix_spawnp(&pid, cfg_.binary.c_str(), &so.actions, &so.attr, cargv.data(), environ)
          : posix_spawn(&pid, cfg_.binary.c_str(), &so.actions, &so.attr, cargv.data(), environ);
  if (rc != 0) throw_errno(rc, "cannot run " + cfg_.binary);

  inv.pid = pid;
  inv.stdout_fd = pipe_read.release();
  remove_log.path = nullptr;
  return inv;
}

// ---------------------------------------------------------------- results

std::string describe_wait_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  return "wait status " + std::to_string(wait_status);
}

namespace {

struct log_reasons {
  std::string last_error;  // msg of the last error/fatal JSON line
  std::string last_line;   // msg (JSON) or text of the last non-empty line
};

log_reasons scan_log(std::string_view log_text) {
  log_reasons r;
  auto& [last_error, last_line] = r;
  size_t pos = 0;
  while (pos < log_text.size()) {
    size_t nl = log_text.find('\n', pos);
    if (nl == std::string_view::npos) nl = log_text.size();
    std::string_view line = trim(log_text.substr(pos, nl - pos));
    pos = nl + 1;
    if (line.empty()) continue;

    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("msg") && j["msg"].is_string()) {
      std::string msg(trim(j["msg"].get<std::string>()));
      if (msg.empty()) continue;
      // Not j.value("level", ...): it throws when a line's level is not a string.
      auto level = j.find("level");
      if (level != j.end() && (*level == "error" || *level == "fatal")) last_error = msg;
      last_line = std::move(msg);
    } else {
      // Plain text: the runtime's stderr, which shares the log file.
      last_line = std::string(line);
    }
  }
  return r;
}

}  // namespace

std::string reason_from_log(std::string_view log_text) {
  log_reasons r = scan_log(log_text);
  return r.last_error.empty() ? r.last_line : r.last_error;
}

std::optional<std::string> runc_client::finish(const invocation& inv, int wait_status) const {
  std::string log;
  if (!inv.log_path.empty()) {
    log = read_file_or_empty(inv.log_path);
    ::unlink(inv.log_path.c_str());
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return std::nullopt;

  log_reasons found = scan_log(log);
  std::string reason = std::move(found.last_error);
  // A killed runtime's last non-error line is chatter, not the cause.
  if (reason.empty() && !WIFSIGNALED(wait_status)) reason = std::move(found.last_line);
  if (reason.empty()) reason = describe_wait_status(wait_status);

  // runc already prefixes its own message ("runc create failed: ..."); keep one.
  std::string prefix = name_ + " " + inv.operation + " failed: ";
  for (const std::string& own : {std::string("runc ") + inv.operation + " failed: ", prefix}) {
    if (reason.rfind(own, 0) == 0) reason.erase(0, own.size());
  }
  return prefix + reason;
}

std::string runc_client::read_captured(invocation& inv) {
  if (inv.stdout_fd < 0) return {};
  fd_guard fd(std::exchange(inv.stdout_fd, -1));
  return read_all_fd(fd.get());
}

std::optional<std::string> runc_client::run_sync(std::string operation,
                                                 const std::vector<std::string>& args,
                                                 std::string* out, spawn_stdio io) {
  if (out) io.capture_stdout = true;
  invocation inv = spawn(std::move(operation), args, io);
  // Read before waiting: a runtime blocked on a full pipe would never exit.
  std::string captured;
  std::exception_ptr read_error;
  try {
    captured = read_captured(inv);
  } catch (...) {
    read_error = std::current_exception();
  }
  int status = 0;
  while (::waitpid(inv.pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno(errno, "cannot wait for " + name_ + " " + inv.operation);
  }
  auto result = finish(inv, status);
  if (read_error) std::rethrow_exception(read_error);
  if (out) *out = std::move(captured);
  return result;
}

// ---------------------------------------------------------------- payloads

std::vector<int> parse_ps_output(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    std::string shown(trim(json).substr(0, 80));
    return std::runtime_error("cannot parse ps output (" + why + "): \"" + shown + "\"");
  };
  if (j.is_discarded()) throw bad("not JSON");
  std::vector<int> pids;
  if (j.is_null()) return pids;  // runc prints null for an empty cgroup
  if (!j.is_array()) throw bad("not a JSON array");
  for (const auto& p : j) {
    if (!p.is_number_integer() || p.get<int64_t>() <= 0 || p.get<int64_t>() > INT32_MAX)
      throw bad("not a pid: " + p.dump());
    pids.push_back(p.get<int>());
  }
  return pids;
}

std::string resources_json(int64_t memory_limit, int64_t cpu_quota, uint64_t cpu_period,
                           uint64_t cpu_shares, int64_t pids_limit) {
  nlohmann::json r = nlohmann::json::object();
  if (memory_limit != 0) r["memory"]["limit"] = memory_limit;
  if (cpu_shares != 0) r["cpu"]["shares"] = cpu_shares;
  if (cpu_quota != 0) r["cpu"]["quota"] = cpu_quota;
  if (cpu_period != 0) r["cpu"]["period"] = cpu_period;
  if (pids_limit != 0) r["pids"]["limit"] = pids_limit;
  return r.dump();
}

}  // namespace berth::runc
