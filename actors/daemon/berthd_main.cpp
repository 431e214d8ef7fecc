// berthd: the daemon. A thin main over berth's actors (berth.hpp): read the
// configuration, start the actor system, the I/O thread and the API server,
// and stop cleanly on SIGTERM or SIGINT. Containers and their shims outlive it.
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "actors/daemon/api_server.hpp"
#include "actors/daemon/berth.hpp"
#include "actors/daemon/daemon_config.hpp"
#include "actors/node/node_actor.hpp"
#include "actors/node/node_endpoint.hpp"
#include "schema/socket_address.hpp"
#include "schema/tls_endpoint.hpp"

namespace {

[[noreturn]] void die(const std::string& why) {
  std::cerr << "berthd: " << why << "\n";
  std::exit(1);
}

// berth-shim beside this executable, else the name for PATH.
std::string default_shim_binary() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "berth-shim";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
  return "berth-shim";
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "node";
  return name;
}

std::optional<gid_t> resolve_group(const std::string& group) {
  if (group.empty()) return std::nullopt;
  if (group.find_first_not_of("0123456789") == std::string::npos)
    return static_cast<gid_t>(std::stoul(group));
  if (auto* g = ::getgrnam(group.c_str())) return g->gr_gid;
  die("unknown group \"" + group + "\" (--group)");
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives every thread that allocates an arena of its own (up to 8 per
  // core), and memory freed in one stays there, fragmented. 1,000 cycles of
  // 8 clients (scripts/chaos) grew RssAnon by 4.9 MiB with the default, 4.2
  // with two arenas, 1.5 with one; each thread's tcache still takes most
  // allocations without the arena lock. MALLOC_ARENA_MAX still overrides.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 1);
  CLI::App app{"berthd: the berth container supervisor daemon"};
  std::string config_path = "/etc/berth/config.toml";
  bool config_given = false;
  berth::daemon_config flags;
  app.add_option_function<std::string>(
      "--config",
      [&](const std::string& p) {
        config_path = p;
        config_given = true;
      },
      "configuration file (default /etc/berth/config.toml; optional)");
  auto* o_root = app.add_option("--root", flags.root, "persistent data (meta.db, content)");
  auto* o_state = app.add_option("--state", flags.state, "runtime state (bundles, the socket)");
  // Repeatable: the local socket is always served (containerd's users expect
  // it); a tls:// address adds the TLS endpoint beside it.
  std::vector<std::string> addresses;
  auto* o_addr = app.add_option("--address", addresses,
                                "API address: unix:PATH (the local socket, default "
                                "unix:<state>/berth.sock, always served) and/or tls://HOST:PORT "
                                "(mutual TLS, with --tls-cert, --tls-key and --tls-ca)");
  auto* o_cert =
      app.add_option("--tls-cert", flags.tls_cert, "PEM certificate of the TLS endpoint");
  auto* o_key = app.add_option("--tls-key", flags.tls_key, "PEM private key of --tls-cert");
  auto* o_ca = app.add_option("--tls-ca", flags.tls_ca,
                              "PEM CA certificate(s): TLS clients need a certificate it signed");
  auto* o_log = app.add_option("--log-level", flags.log_level, "debug|info|warn|error")
                    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  auto* o_group = app.add_option("--group", flags.group, "group allowed on the API socket");
  auto* o_shim = app.add_option("--shim-binary", flags.shim_binary, "path of berth-shim");
  auto* o_rt = app.add_option("--default-runtime", flags.default_runtime, "runtime name");
  auto* o_limit = app.add_option("--event-subscriber-limit", flags.event_subscriber_limit,
                                 "events a subscriber may leave unreturned before it is dropped")
                      ->check(CLI::PositiveNumber);
  auto* o_keep =
      app.add_option("--event-retention", flags.event_retention, "events kept for events --since")
          ->check(CLI::PositiveNumber);
  std::string log_max_size;
  std::int64_t log_max_files = 0;
  auto* o_log_size = app.add_option("--log-max-size", log_max_size,
                                    "task log bytes per file before it rotates (10m, 1g; "
                                    "default 10m); a container's --log-max-size wins");
  auto* o_log_files = app.add_option("--log-max-files", log_max_files,
                                     "task log files kept, the current one included (default 2)");
  // A node's actors on the network (actors/node, docs/cluster.md).
  std::string node_name, actor_address;
  bool insecure_actors = false;
  app.add_option("--node", node_name, "this node's name (default: the host name)");
  app.add_option("--actor-address", actor_address,
                 "publish the node's actors on HOST:PORT (mutual TLS with the same --tls-*)");
  std::vector<std::string> join;
  app.add_option("--join", join, "join the node whose actors are at HOST:PORT (repeatable)");
  app.add_flag("--insecure-actors", insecure_actors,
               "publish plain actor messages, without TLS (loopback addresses only)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  berth::daemon_config cfg;
  if (auto err = berth::load_config_file(config_path, cfg, config_given); !err.empty())
    die("bad configuration: " + err);
  // Flags win over the file.
  if (*o_root) cfg.root = flags.root;
  if (*o_state) cfg.state = flags.state;
  if (*o_cert) cfg.tls_cert = flags.tls_cert;
  if (*o_key) cfg.tls_key = flags.tls_key;
  if (*o_ca) cfg.tls_ca = flags.tls_ca;
  if (*o_log) cfg.log_level = flags.log_level;
  if (*o_group) cfg.group = flags.group;
  if (*o_shim) cfg.shim_binary = flags.shim_binary;
  if (*o_rt) cfg.default_runtime = flags.default_runtime;
  if (*o_limit) cfg.event_subscriber_limit = flags.event_subscriber_limit;
  if (*o_keep) cfg.event_retention = flags.event_retention;
  if (*o_log_size || *o_log_files) {
    std::int64_t size = static_cast<std::int64_t>(cfg.task_logs.max_size);
    std::int64_t files = *o_log_files ? log_max_files : cfg.task_logs.max_files;
    try {
      if (*o_log_size)
        size = static_cast<std::int64_t>(berth::parse_log_size(log_max_size, "--log-max-size"));
    } catch (const std::invalid_argument& e) {
      die(e.what());
    }
    if (auto why = berth::check_log_limits(size, files, "--log-max-size", "--log-max-files"))
      die(*why);
    cfg.task_logs = {static_cast<std::uint64_t>(size), static_cast<std::uint32_t>(files)};
  }
  for (auto* dir : {&cfg.root, &cfg.state})
    if (dir->empty() || dir->front() != '/') die("\"" + *dir + "\" must be an absolute path");
  // Each address to its kind; a flag wins over the file's key of its kind.
  std::vector<std::string> given;
  if (*o_addr) {
    given = addresses;
  } else if (!cfg.address.empty()) {
    given = {cfg.address};
    cfg.address.clear();
  }
  bool seen_unix = false, seen_tls = false;
  for (auto& a : given) {
    bool tls = berth::is_tls_address(a) || a.rfind("tcp://", 0) == 0;
    bool& seen = tls ? seen_tls : seen_unix;
    if (seen)
      die("--address: give at most one " + std::string(tls ? "tls://" : "unix:") + " address");
    seen = true;
    (tls ? cfg.tls_address : cfg.address) = a;
  }
  if (cfg.address.empty()) cfg.address = "unix:" + cfg.state + "/berth.sock";
  if (auto a = berth::unix_socket_address(cfg.address); !a.empty())
    cfg.address = a;
  else
    die("invalid address \"" + cfg.address +
        "\": expected /ABSOLUTE/PATH, unix:/ABSOLUTE/PATH, unix:///ABSOLUTE/PATH or "
        "tls://HOST:PORT");
  // The TLS endpoint's files are checked before anything starts.
  std::shared_ptr<const berth::tls_identity> tls;
  if (!cfg.tls_address.empty()) {
    try {
      berth::parse_tls_address(cfg.tls_address);
      tls = std::make_shared<const berth::tls_identity>(
          berth::tls_identity::load({cfg.tls_cert, cfg.tls_key, cfg.tls_ca}, true));
    } catch (const std::exception& e) {
      die("cannot serve the API on " + cfg.tls_address + ": " + e.what());
    }
  }
  std::optional<berth::actor_endpoint> actors_at;
  if (!actor_address.empty()) {
    try {
      actors_at = berth::parse_actor_address(actor_address, "--actor-address");
    } catch (const std::invalid_argument& e) {
      die(e.what());
    }
    actors_at->tls = {cfg.tls_cert, cfg.tls_key, cfg.tls_ca};
    actors_at->insecure = insecure_actors;
    if (auto why = berth::check_endpoint(*actors_at)) die(*why);
    if (actors_at->port == 0) die("--actor-address needs the port peers reach it on; 0 is not one");
    if (node_name.empty()) node_name = host_name();
    if (auto why = berth::check_node_name(node_name)) die(*why);
    for (auto& peer : join) {
      try {
        berth::parse_actor_address(peer, "--join");
      } catch (const std::invalid_argument& e) {
        die(e.what());
      }
    }
  } else if (insecure_actors || !node_name.empty() || !join.empty()) {
    die("--node, --join and --insecure-actors need --actor-address");
  }
  auto shim = cfg.shim_binary.empty() ? default_shim_binary() : cfg.shim_binary;
  auto group = resolve_group(cfg.group);

  auto logger = spdlog::stderr_color_mt("berthd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));

  // Signals are taken by sigwait below; every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::umask(0022);

  caf::actor_system_config sys_cfg;
  berth::add_berth_types(sys_cfg);
  // Work sharing: idle workers block on a condition variable. CAF's default
  // work stealing polls with 50 us sleeps while idle, and under load (100
  // containers starting) those wakeups took more CPU than berthd's actors did
  // (perf, docs/performance.md), CPU that runc needed. berthd's actors do
  // little work each, so stealing gains nothing here.
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  // The middleman (a thread and its buffers) only for a node that publishes.
  if (actors_at) berth::prepare_actor_network(sys_cfg, *actors_at);
  caf::actor_system sys{sys_cfg};
  auto io = std::make_shared<berth::io_thread>();
  berth::berth_system b;
  berth::node_actor published_node;  // with --actor-address
  // The supervisor gives up after too many failures of berth's own actors
  // in a row: berthd then stops as on SIGTERM, and exits 1.
  static std::atomic<bool> gave_up{false};
  auto bc = berth::to_berth_config(cfg, shim);
  bc.on_give_up = [](const std::string&) {
    gave_up = true;
    ::kill(::getpid(), SIGTERM);
  };
  try {
    b = berth::start_berth(sys, io, bc);
    berth::api_server_config api;
    api.socket_path = cfg.address.substr(5);
    api.state_dir = cfg.state;
    api.group = group;
    api.tls_address = cfg.tls_address;
    api.tls = tls;
    // Published before the socket appears, which tells that berthd is ready.
    if (actors_at) {
      berth::node_config node_cfg{node_name, *actors_at, join,
                                  cfg.state, cfg.root,   bc.image_limits.free_space_reserve};
      auto node = berth::spawn_node(sys, node_cfg, b.handles);
      berth::publish_node(node, *actors_at);
      api.node = node;
      published_node = node;
      spdlog::info("node {} publishes its actors on {}", node_name, actors_at->describe());
    }
    berth::start_api_server(io, sys, b.handles, api);
  } catch (const std::exception& e) {
    // The actor system runs: exit() would destroy it under its own threads.
    std::cerr << "berthd: " << e.what() << "\n";
    std::_Exit(1);
  }
  spdlog::info(
      "berthd ready on {}{} (root {}, state {}; recovered {} containers, {} tasks, "
      "deleted {} orphaned shims)",
      cfg.address, cfg.tls_address.empty() ? "" : " and " + cfg.tls_address, cfg.root, cfg.state,
      b.recovered.containers, b.recovered.tasks, b.recovered.orphan_shims);

  // While it waits for a stop signal, the main thread hands memory freed after
  // a burst (many creates, an import) back to the kernel: glibc keeps it in
  // its arenas otherwise. Measured with 100 tasks: 25.7 -> 20.3 MiB VmRSS.
  int sig = -1;
  const timespec every{3, 0};
  while (sig < 0) {
    sig = sigtimedwait(&stop_signals, nullptr, &every);
    if (sig < 0) malloc_trim(0);
  }
  if (gave_up)
    spdlog::critical(
        "berthd stopping: its supervisor gave up (see above); containers keep running");
  else
    spdlog::info("berthd stopping on signal {}; containers keep running", sig);
  ::unlink(cfg.address.substr(5).c_str());
  berth::stop_berth(sys, b);
  // The node actor is not under the supervisor (it re-arms its own ticks): it
  // is stopped here, or no stop would find every actor ended.
  if (published_node) caf::anon_send_exit(published_node, caf::exit_reason::user_shutdown);
  b.handles->set({});  // the API server, still on the io_thread, must not hold them
  // Every berth actor ends with the supervisor, each closing what it holds
  // as it ends (the store its database). Then the process ends: CAF's own
  // teardown (~actor_system) waited for a count of detached threads that,
  // once any client had connected, never reached zero, so every stop took
  // the 10 s of a watchdog. Whatever still waits (a shim command in flight)
  // gets up to those 10 s.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sys.registry().running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (sys.registry().running() > 0)
    spdlog::warn("berthd stopping with {} actors still running after 10 s",
                 sys.registry().running());
  spdlog::info("berthd stopped");
  spdlog::default_logger()->flush();
  std::_Exit(gave_up ? 1 : 0);
}
