// daemon_bench: what berthd itself costs (issue #4, section Benchmarks).
//
// 1. create + start overhead. Two paths run the same busybox container
//    (`sleep 1000`), interleaved round by round (the order alternates), so
//    load drifting during the run hits both alike:
//     - berthd: a real berthd (tests/support/berthd_process.hpp) with the real
//       berth-shim; createContainer first (metadata only, untimed), then
//       createTask + a pipelined start over the API, timed from sending
//       createTask to the start reply. The task and container are removed
//       afterwards, untimed.
//     - direct: the same work without the daemon: `berth-shim start` with the
//       arguments berthd gives it (runtime_actor.cpp, shim_argv), a Cap'n Proto
//       connection to its socket, then connect, create and start, timed from
//       spawning `berth-shim start` to the start reply. The bundle's
//       config.json is the one berthd wrote for its own container, so both
//       paths start the same spec. Kill, wait, delete and shutdown follow,
//       untimed.
//    The daemon's own cost is berthd minus direct.
// 2. berthd's memory: VmRSS and Pss (smaps_rollup) of a fresh berthd idle,
//    with N running `sleep` tasks, and after they are all removed; then no
//    shim may be left under its state dir.
//
// Prints markdown tables on stdout; progress and errors go to stderr.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "bench/bench_util.hpp"
#include "tests/integration/daemon/api_client.hpp"
#include "tests/integration/shim/shim_harness.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using namespace berth::bench;
using clk = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const std::string kNs = "default";
const std::vector<std::string> kArgs = {"sleep", "1000"};

// berthd_process runs berthd with `--log-level debug` (a second --log-level
// is refused), and berthd passes its level on to every shim it starts; the
// direct path's shims get the same, so both paths log alike.
const std::string kLogLevel = "debug";

// ---- the direct path ---------------------------------------------------------

// `berth-shim VERB ...` exactly as berthd's runtime actor runs it for runc
// (actors/runtime/runtime_actor.cpp, shim_argv): bundle and state dir are the
// same directory, the runtime root is per namespace.
std::vector<std::string> shim_argv(const std::string& verb, const std::string& id,
                                   const std::string& dir, const std::string& runtime_root) {
  std::vector<std::string> argv = {test::berthd_process::shim_binary(),
                                   verb,
                                   "--namespace",
                                   kNs,
                                   "--id",
                                   id,
                                   "--bundle",
                                   dir,
                                   "--runtime",
                                   "runc",
                                   "--state-dir",
                                   dir,
                                   "--runtime-root",
                                   runtime_root + "/" + kNs};
  if (verb == "start") {
    argv.push_back("--log-level");
    argv.push_back(kLogLevel);
  }
  return argv;
}

// Unless the shim was shut down cleanly, `berth-shim delete` kills the
// container and the shim, so a failed round leaves nothing behind.
struct direct_guard {
  std::vector<std::string> delete_argv;
  bool clean = false;
  ~direct_guard() {
    if (!clean) test::run_command(delete_argv);
  }
};

double run_direct(const std::string& id, const std::string& state, const std::string& config) {
  const std::string dir = state + "/" + kNs + "/" + id;
  const std::string runtime_root = state + "/.runtime/io.berth.runc.v1";
  fs::create_directories(dir);
  std::ofstream(dir + "/config.json") << config;

  direct_guard guard{shim_argv("delete", id, dir, runtime_root)};
  const auto t0 = clk::now();
  auto r = test::run_command(shim_argv("start", id, dir, runtime_root));
  if (r.exit_code != 0) throw std::runtime_error("berth-shim start: " + first_line(r.err));
  std::string address = r.out.substr(0, r.out.find('\n'));
  test::shim_client c(address);
  {
    auto req = c.task().connectRequest();
    req.initReq();
    check_ok(test::answer(c, req.send(), "connect").getResp(), "connect " + id);
  }
  check_ok(test::rpc::create(c, id, dir).getResp(), "create " + id);
  check_ok(test::rpc::start(c).getResp(), "start " + id);
  const double ms = elapsed_ms(t0);

  const int shim_pid = test::shim_pid(dir);
  check_ok(test::rpc::kill(c, SIGKILL).getResp(), "kill " + id);
  check_ok(test::rpc::wait(c).getResp(), "wait " + id);
  check_ok(test::rpc::remove(c).getResp(), "delete " + id);
  check_ok(test::rpc::shutdown(c).getResp(), "shutdown " + id);
  c.disconnect();
  if (!wait_gone(shim_pid, 5000)) throw std::runtime_error("shim " + id + " did not exit");
  guard.clean = true;
  fs::remove_all(dir);
  return ms;
}

// A thread has one KJ event loop; the api_client's lives on the main
// thread, so each direct round gets a thread (and a loop) of its own. The
// thread is started before, and joined after, the timing.
double run_direct_in_thread(const std::string& id, const std::string& state,
                            const std::string& config) {
  double ms = 0;
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      ms = run_direct(id, state, config);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
  return ms;
}

// ---- the berthd path ---------------------------------------------------------

void create_container(test::api_client& c, const std::string& id, const std::string& rootfs) {
  std::string message;
  if (c.create_container(kNs, id, rootfs, kArgs, &message) != wire::ErrorCode::OK)
    throw std::runtime_error("createContainer " + id + ": " + message);
}

// createTask + pipelined start; milliseconds from sending createTask to the
// start reply.
double create_and_start(test::api_client& c, const std::string& id) {
  std::string err;
  const auto t0 = clk::now();
  c.run(kNs, id, &err);
  const double ms = elapsed_ms(t0);
  if (!err.empty()) throw std::runtime_error("createTask + start " + id + ": " + err);
  return ms;
}

void remove(test::api_client& c, const std::string& id) {
  auto failed = c.remove(kNs, id);
  if (!failed.empty()) throw std::runtime_error("removing " + id + ": " + failed);
}

// ---- memory -------------------------------------------------------------------

double proc_kib(const std::string& file, const std::string& key) {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream in(line.substr(key.size() + 1));
      double v = -1;
      in >> v;
      return v;
    }
  }
  return -1;
}

struct memory {
  std::string when;
  double rss_kib = 0, pss_kib = 0, anon_kib = 0;
  int threads = 0;
  size_t shims = 0;
};

memory measure(const std::string& when, const test::berthd_process& d) {
  const std::string base = "/proc/" + std::to_string(d.pid());
  memory m{when};
  m.rss_kib = proc_kib(base + "/status", "VmRSS");
  m.anon_kib = proc_kib(base + "/status", "RssAnon");
  m.pss_kib = proc_kib(base + "/smaps_rollup", "Pss");
  m.threads = static_cast<int>(proc_kib(base + "/status", "Threads"));
  m.shims = test::shims_under(d.state()).size();
  if (m.rss_kib < 0 || m.pss_kib < 0 || m.anon_kib < 0)
    throw std::runtime_error("cannot read berthd's memory (pid " + std::to_string(d.pid()) + ")");
  return m;
}

std::string mib(double kib) {
  return fixed(kib / 1024, 1);
}

// ---- the two benchmarks ---------------------------------------------------------

void overhead(int rounds, int warmup, double target_ms) {
  test::berthd_process d;
  test::api_client c(d.address());
  const std::string rootfs = d.rootfs();
  test::temp_dir dir("berth-bench");
  const std::string direct_state = dir / "state";

  // The direct path's spec: the config.json berthd wrote for a container
  // made the same way, so both paths start the same container.
  std::string config;
  {
    const std::string id = task_id("probe");
    create_container(c, id, rootfs);
    create_and_start(c, id);
    config = test::read_text(d.state() + "/" + kNs + "/" + id + "/config.json");
    remove(c, id);
    if (config.empty()) throw std::runtime_error("berthd wrote no config.json for " + id);
  }

  std::vector<double> daemon, direct, diffs;
  for (int i = -warmup; i < rounds; ++i) {
    const bool timed = i >= 0;
    std::cerr << (timed ? "round " + std::to_string(i + 1) + "/" + std::to_string(rounds)
                        : std::string("warm-up"))
              << "\r" << std::flush;
    const std::string tag = timed ? std::to_string(i) : "w" + std::to_string(-i);
    double through_daemon = 0, without = 0;
    // Alternate which path goes first, so neither always follows the other.
    for (int k = 0; k < 2; ++k) {
      check_interrupted();
      if ((k + i) % 2 == 0) {
        const std::string id = task_id("d" + tag);
        create_container(c, id, rootfs);
        through_daemon = create_and_start(c, id);
        remove(c, id);
      } else {
        without = run_direct_in_thread(task_id("s" + tag), direct_state, config);
      }
    }
    if (timed) {
      daemon.push_back(through_daemon);
      direct.push_back(without);
      diffs.push_back(through_daemon - without);
    }
  }
  std::cerr << "\n";
  auto left = test::shims_left(d.state());
  if (!left.empty()) throw std::runtime_error("shims left under berthd's state after removal");

  auto a = summarize(daemon), b = summarize(direct), delta = summarize(diffs);
  std::cout << "### create + start: through berthd vs driving berth-shim directly\n\n"
            << rounds << " rounds after " << warmup
            << " warm-up, interleaved (the order alternates every round), one container "
               "`sleep 1000` per path per round, runc, berthd and its shims at log level "
            << kLogLevel
            << ". berthd: createTask + pipelined start over the API, from sending createTask to "
               "the start reply (createContainer before, untimed). Direct: `berth-shim start` "
               "with berthd's arguments, connect, create, start over the shim's socket, from "
               "spawning `berth-shim start` to the start reply.\n\n"
            << "| path | n | median ms | p90 ms | min ms | max ms |\n"
            << "|---|---:|---:|---:|---:|---:|\n";
  for (auto [label, s] : {std::pair{"through berthd", a}, std::pair{"berth-shim directly", b}}) {
    std::cout << "| " << label << " | " << s.n << " | " << fixed(s.median, 1) << " | "
              << fixed(s.p90, 1) << " | " << fixed(s.min, 1) << " | " << fixed(s.max, 1) << " |\n";
  }
  const double cost = a.median - b.median;
  std::cout << "\n| daemon's own cost | ms |\n|---|---:|\n"
            << "| difference of medians | " << fixed(cost, 1) << " |\n"
            << "| median of per-round differences | " << fixed(delta.median, 1) << " |\n"
            << "| p90 of per-round differences | " << fixed(delta.p90, 1) << " |\n"
            << "| ratio of medians (berthd / direct) | " << fixed(a.median / b.median, 2) << "× |\n"
            << "| target | ≤ " << fixed(target_ms, 1)
            << " ms: " << (cost <= target_ms ? "met" : "**not met**") << " |\n\n";
}

void memory_with_tasks(int tasks, int settle, double target_mib) {
  test::berthd_process d;
  test::api_client c(d.address());
  const std::string rootfs = d.rootfs();
  std::vector<memory> rows;

  std::this_thread::sleep_for(std::chrono::seconds(settle));
  rows.push_back(measure("idle, just started", d));

  std::vector<std::string> ids;
  for (int i = 0; i < tasks; ++i) {
    check_interrupted();
    std::cerr << "task " << i + 1 << "/" << tasks << "\r" << std::flush;
    ids.push_back(task_id("m" + std::to_string(i)));
    create_container(c, ids.back(), rootfs);
    create_and_start(c, ids.back());
  }
  std::cerr << "\n";
  std::this_thread::sleep_for(std::chrono::seconds(settle));
  rows.push_back(measure(std::to_string(tasks) + " running tasks", d));
  const memory loaded = rows.back();

  for (const auto& id : ids) {
    check_interrupted();
    remove(c, id);
  }
  auto left = test::shims_left(d.state());
  std::this_thread::sleep_for(std::chrono::seconds(settle));
  rows.push_back(measure("all tasks removed", d));

  std::cout << "### berthd memory\n\n"
            << "One berthd, one API client connection, log level " << kLogLevel
            << "; each task `sleep 1000` on runc, created and started one after another. "
               "Read "
            << settle
            << " s after each step from /proc/PID/status (VmRSS, RssAnon, Threads) and "
               "/proc/PID/smaps_rollup (Pss). MiB.\n\n"
            << "| berthd | VmRSS | Pss | RssAnon | threads | shims running |\n"
            << "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& m : rows) {
    std::cout << "| " << m.when << " | " << mib(m.rss_kib) << " | " << mib(m.pss_kib) << " | "
              << mib(m.anon_kib) << " | " << m.threads << " | " << m.shims << " |\n";
  }
  std::cout << "\nTarget: VmRSS with " << tasks << " running tasks ≤ " << fixed(target_mib, 1)
            << " MiB: " << mib(loaded.rss_kib) << " MiB, "
            << (loaded.rss_kib / 1024 <= target_mib ? "met" : "**not met**")
            << " (containerd on this machine, from issue #4: 46.9 MiB idle, 57.4 MiB with 50 "
               "tasks). Shims left after removing every task: "
            << left.size() << ".\n\n";
  if (!left.empty()) throw std::runtime_error(std::to_string(left.size()) + " shims left");
  if (static_cast<int>(loaded.shims) != tasks)
    throw std::runtime_error("expected " + std::to_string(tasks) + " shims, saw " +
                             std::to_string(loaded.shims));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"daemon_bench: berthd's own create+start cost and its memory with many tasks"};
  int rounds = 30, warmup = 2, tasks = 100, settle = 2;
  double target_ms = 3, target_mib = 15;
  bool skip_overhead = false, skip_memory = false;
  app.add_option("-n,--rounds", rounds, "timed rounds per path")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed rounds per path first")->capture_default_str();
  app.add_option("--tasks", tasks, "running tasks for the memory figure")->capture_default_str();
  app.add_option("--settle", settle, "seconds to wait before each memory reading")
      ->capture_default_str();
  app.add_option("--target-ms", target_ms, "daemon's own create+start cost to meet")
      ->capture_default_str();
  app.add_option("--target-mib", target_mib, "berthd VmRSS with --tasks tasks to meet")
      ->capture_default_str();
  app.add_flag("--no-overhead", skip_overhead, "skip the create+start benchmark");
  app.add_flag("--no-memory", skip_memory, "skip the memory benchmark");
  CLI11_PARSE(app, argc, argv);
  setup(argv[0]);

  try {
    if (!skip_overhead) overhead(rounds, warmup, target_ms);
    if (!skip_memory) memory_with_tasks(tasks, settle, target_mib);
  } catch (const std::exception& e) {
    std::cerr << "\ndaemon_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
