// shim_lifecycle_bench: how long a short container takes through berth-shim,
// against the runtime alone.
//
// For each runtime, three paths run the same busybox bundle whose process is
// `true`, interleaved iteration by iteration (the order rotates each time so
// no path always runs first after another):
//  - shim: `berth-shim start` and a Cap'n Proto connection happen first and
//    are not timed; then create + start + wait + delete, the four Task RPCs,
//    are timed together (and each alone, for the breakdown); shutdown follows,
//    untimed.
//  - floor: `<runtime> run --bundle B ID`, the runtime's own create + start +
//    wait + delete in one process (`run` deletes the container on exit unless
//    --keep is given).
//  - split: the same four steps as the shim, by hand with the runtime's CLI
//    and no shim: `<runtime> create --pid-file F`, `<runtime> start`, waitpid
//    on the container (this process is a child subreaper, as the shim is),
//    `<runtime> delete`. This is the floor for anything that splits create
//    from start (containerd's shim does too); the shim's own cost is the
//    difference between the shim path and this one.
// For crun the runtime binary is tests/support/crun-private-ns (crun refuses
// this machine's hybrid cgroups otherwise), so its floor is
// `crun-private-ns run`; plain `crun run` is tried once and timed too when it
// works.
//
// Prints markdown tables on stdout; progress and errors go to stderr.
#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "bench/bench_util.hpp"
#include "tests/integration/shim/shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using namespace berth::bench;
using clk = std::chrono::steady_clock;

extern char** environ;

namespace {

// Leaves nothing behind: unless the shim shut down cleanly, `berth-shim
// delete` force-deletes the container and kills the shim.
struct shim_guard {
  test::shim_args args;
  bool started = false;
  bool clean = false;
  ~shim_guard() {
    if (started && !clean) test::delete_shim(args);
  }
};

// Same for a container started by `<runtime> run`.
struct container_guard {
  std::string runtime, id;
  bool clean = false;
  ~container_guard() {
    if (!clean) test::run_command({runtime, "delete", "--force", id});
  }
};

struct shim_sample {
  double shim_start = 0, create = 0, start = 0, wait = 0, del = 0, total = 0, shutdown = 0;
};

shim_sample run_through_shim(const std::string& runtime, const std::string& bundle,
                             const std::string& state_root, const std::string& tag) {
  shim_guard guard;
  auto& a = guard.args;
  a.ns = "bench";
  a.id = task_id(tag);
  a.bundle = bundle;
  a.state_dir = state_root + "/" + a.id;
  a.runtime = runtime;
  shim_sample s;

  auto t = clk::now();
  guard.started = true;  // a half-started shim is cleaned up too
  auto r = test::start_shim(a);
  s.shim_start = elapsed_ms(t);
  if (r.exit_code != 0) throw std::runtime_error("berth-shim start: " + first_line(r.err));
  int shim_pid = test::shim_pid(a.state_dir);

  test::shim_client c(r.out);
  auto& ws = c.wait_scope();
  {
    // One round trip first, so the connection itself is not in the timing.
    auto req = c.task().connectRequest();
    req.initReq();
    check_ok(req.send().wait(ws).getResp(), "connect");
  }

  const auto t0 = clk::now();
  t = t0;
  {
    auto req = c.task().createRequest();
    auto q = req.initReq();
    q.setId(a.id);
    q.setBundle(bundle);
    q.initStdio();
    check_ok(req.send().wait(ws).getResp(), "create " + a.id);
  }
  s.create = elapsed_ms(t);
  t = clk::now();
  {
    auto req = c.task().startRequest();
    req.initReq();
    check_ok(req.send().wait(ws).getResp(), "start " + a.id);
  }
  s.start = elapsed_ms(t);
  t = clk::now();
  {
    auto req = c.task().waitRequest();
    req.initReq();
    auto resp = req.send().wait(ws).getResp();
    check_ok(resp, "wait " + a.id);
    if (resp.getStatus().getCode() != 0) {
      throw std::runtime_error("task " + a.id + " exited with " +
                               std::to_string(resp.getStatus().getCode()));
    }
  }
  s.wait = elapsed_ms(t);
  t = clk::now();
  {
    auto req = c.task().deleteRequest();
    req.initReq();
    check_ok(req.send().wait(ws).getResp(), "delete " + a.id);
  }
  s.del = elapsed_ms(t);
  s.total = elapsed_ms(t0);

  t = clk::now();
  {
    auto req = c.task().shutdownRequest();
    req.initReq();
    check_ok(req.send().wait(ws).getResp(), "shutdown " + a.id);
  }
  c.disconnect();
  if (!wait_gone(shim_pid, 5000)) throw std::runtime_error("shim " + a.id + " did not exit");
  s.shutdown = elapsed_ms(t);
  guard.clean = true;
  return s;
}

// --cli-setsid: run the runtime's CLI in a session of its own, as the shim
// (which calls setsid) runs it. With the kernel's scheduler autogroups, a
// session is a scheduling group, which changes how the CLI competes for CPU
// with the rest of a busy machine.
bool g_cli_setsid = false;

// Runs argv with stdin and stdout on /dev/null and stderr into err_path, and
// waits for it. Not test::run_command: `create` hands its stdio to the
// container, so pipes would stay open until the container exits.
void run_quiet(const std::vector<std::string>& argv, const std::string& err_path) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (g_cli_setsid) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " " + argv[1] +
                             " failed: " + first_line(test::read_text(err_path)));
  }
}

shim_sample run_split(const std::string& runtime, const std::string& bundle, const std::string& dir,
                      const std::string& tag) {
  container_guard guard{runtime, task_id(tag)};
  const std::string pid_file = dir + "/" + guard.id + ".pid";
  const std::string err = dir + "/" + guard.id + ".err";
  shim_sample s;
  const auto t0 = clk::now();
  auto t = t0;
  run_quiet({runtime, "create", "--bundle", bundle, "--pid-file", pid_file, guard.id}, err);
  pid_t pid = std::atoi(test::read_text(pid_file).c_str());
  if (pid <= 0) throw std::runtime_error(runtime + " create wrote no pid to " + pid_file);
  s.create = elapsed_ms(t);
  t = clk::now();
  run_quiet({runtime, "start", guard.id}, err);
  s.start = elapsed_ms(t);
  t = clk::now();
  int status = 0;
  // The container's init was reparented to us (a subreaper) when create exited.
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("container " + guard.id + " did not exit 0");
  s.wait = elapsed_ms(t);
  t = clk::now();
  run_quiet({runtime, "delete", guard.id}, err);
  s.del = elapsed_ms(t);
  s.total = elapsed_ms(t0);
  guard.clean = true;
  unlink(pid_file.c_str());
  unlink(err.c_str());
  return s;
}

double run_directly(const std::string& runtime, const std::string& bundle, const std::string& dir,
                    const std::string& tag) {
  container_guard guard{runtime, task_id(tag)};
  const std::string err = dir + "/" + guard.id + ".err";
  auto t0 = clk::now();
  run_quiet({runtime, "run", "--bundle", bundle, guard.id}, err);
  double ms = elapsed_ms(t0);
  guard.clean = true;
  unlink(err.c_str());
  return ms;
}

// One path being measured.
struct path {
  std::string label;
  std::string runtime;  // the binary
  enum kind { shim, split, run } how = run;
  std::vector<double> totals;
  std::vector<shim_sample> samples;  // shim and split paths
};

void print_header(const std::vector<path>& paths, int iterations, int warmup) {
  std::cout << "### create + start + wait + delete of `true`\n\n"
            << iterations << " iterations per path after " << warmup
            << " warm-up, interleaved (order rotates every iteration). Shim paths time the "
               "four Task RPCs over the shim's socket; the shim was started and connected "
               "before, and shut down after, each timed run. The CLI paths run the same four "
               "steps with the runtime's own commands and no shim."
            << (g_cli_setsid ? " Every runtime call of the CLI paths ran in a new session "
                               "(`--cli-setsid`), so, like the shim's calls, outside the "
                               "benchmark's session and its scheduler autogroup."
                             : " The CLI paths ran in the benchmark's own session.")
            << "\n\n"
            << "| path | n | median ms | p90 ms | min ms | max ms |\n"
            << "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& p : paths) {
    auto s = summarize(p.totals);
    std::cout << "| " << p.label << " | " << s.n << " | " << fixed(s.median, 1) << " | "
              << fixed(s.p90, 1) << " | " << fixed(s.min, 1) << " | " << fixed(s.max, 1) << " |\n";
  }
  std::cout << "\n";
}

void print_ratios(const std::vector<std::pair<const path*, const path*>>& pairs, double target) {
  std::cout << "| comparison | ratio of medians | ratio of p90s | median of per-iteration "
               "ratios | target | met |\n"
            << "|---|---:|---:|---:|---:|---|\n";
  for (auto [shim, floor] : pairs) {
    auto a = summarize(shim->totals), b = summarize(floor->totals);
    std::vector<double> paired;
    for (size_t i = 0; i < std::min(shim->totals.size(), floor->totals.size()); ++i)
      paired.push_back(shim->totals[i] / floor->totals[i]);
    double ratio = a.median / b.median;
    std::cout << "| " << shim->label << " vs " << floor->label << " | " << fixed(ratio, 2) << "× | "
              << fixed(a.p90 / b.p90, 2) << "× | " << fixed(summarize(paired).median, 2) << "× | ";
    if (target > 0) {
      std::cout << "≤ " << fixed(target, 2) << "× | " << (ratio <= target ? "yes" : "**no**")
                << " |\n";
    } else {
      std::cout << "(for information) | |\n";
    }
  }
  std::cout << "\n";
}

void print_breakdown(const std::vector<path>& paths) {
  std::cout << "Per-step medians (ms): the shim's four RPCs against the same four steps by hand "
               "with the runtime's CLI. `berth-shim start` and shutdown (until the shim process "
               "is gone) are not part of any total.\n\n"
            << "| path | create | start | wait | delete | total | berth-shim start | "
               "shutdown |\n"
            << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : paths) {
    if (p.how == path::run) continue;
    auto med = [&](double shim_sample::*field) {
      std::vector<double> v;
      for (const auto& s : p.samples) v.push_back(s.*field);
      return fixed(summarize(v).median, 1);
    };
    bool shim = p.how == path::shim;
    std::cout << "| " << p.label << " | " << med(&shim_sample::create) << " | "
              << med(&shim_sample::start) << " | " << med(&shim_sample::wait) << " | "
              << med(&shim_sample::del) << " | " << med(&shim_sample::total) << " | "
              << (shim ? med(&shim_sample::shim_start) : "–") << " | "
              << (shim ? med(&shim_sample::shutdown) : "–") << " |\n";
  }
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shim_lifecycle_bench: create+start+wait+delete through berth-shim vs runc run"};
  int iterations = 30, warmup = 2;
  std::vector<std::string> runtimes = {"runc", "crun"};
  double target = 1.15;
  std::string crun_wrapper;  // default: tests/support/crun-private-ns in the source tree
  app.add_option("-n,--iterations", iterations, "timed iterations per path")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed iterations per path first")->capture_default_str();
  app.add_option("--runtimes", runtimes, "runc and/or crun")->delimiter(',')->capture_default_str();
  app.add_option("--target", target, "the ratio to meet (shim / runtime run)")
      ->capture_default_str();
  app.add_flag("--cli-setsid", g_cli_setsid,
               "run the runtime CLI paths in a new session each call, as the shim runs them");
  app.add_option("--crun-wrapper", crun_wrapper,
                 "crun wrapper used as the crun runtime binary (default: "
                 "tests/support/crun-private-ns)");
  CLI11_PARSE(app, argc, argv);
  setup(argv[0]);
  if (crun_wrapper.empty()) crun_wrapper = test::source_path("tests/support/crun-private-ns");
  // The split path waits for the container as the shim does: as its subreaper.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  try {
    test::temp_dir dir("berth-bench");
    const std::string bundle = dir / "bundle";
    test::make_busybox_bundle(bundle, {.args = {"true"}});
    const std::string state_root = dir / "state";

    std::vector<path> paths;
    std::vector<std::string> notes;
    for (const auto& rt : runtimes) {
      if (rt == "runc") {
        if (version_line("runc").empty()) {
          notes.push_back("runc: not installed, skipped");
          continue;
        }
        paths.push_back({"berth-shim → runc", "runc", path::shim, {}, {}});
        paths.push_back({"`runc run`", "runc", path::run, {}, {}});
        paths.push_back(
            {"runc create, start, wait, delete (CLI, no shim)", "runc", path::split, {}, {}});
      } else if (rt == "crun") {
        if (version_line("crun").empty()) {
          notes.push_back("crun: not installed, skipped");
          continue;
        }
        try {
          run_directly(crun_wrapper, bundle, dir.path(), "crun-probe");
        } catch (const std::exception& e) {
          notes.push_back(
              std::string("crun through crun-private-ns does not work here, skipped: ") + e.what());
          continue;
        }
        paths.push_back({"berth-shim → crun-private-ns", crun_wrapper, path::shim, {}, {}});
        paths.push_back({"`crun-private-ns run`", crun_wrapper, path::run, {}, {}});
        paths.push_back({"crun-private-ns create, start, wait, delete (CLI, no shim)",
                         crun_wrapper,
                         path::split,
                         {},
                         {}});
        try {
          run_directly("crun", bundle, dir.path(), "crun-plain-probe");
          paths.push_back({"`crun run` (plain)", "crun", path::run, {}, {}});
        } catch (const std::exception& e) {
          notes.push_back(std::string("plain `crun run` fails here, not timed: ") + e.what());
        }
      } else {
        throw std::runtime_error("unknown runtime " + rt + " (runc or crun)");
      }
    }
    if (paths.empty()) throw std::runtime_error("no runtime to measure");

    for (int i = -warmup; i < iterations; ++i) {
      bool timed = i >= 0;
      std::cerr << (timed ? "iteration " + std::to_string(i + 1) + "/" + std::to_string(iterations)
                          : std::string("warm-up"))
                << "\r" << std::flush;
      size_t rot = static_cast<size_t>(i + warmup) % paths.size();
      for (size_t k = 0; k < paths.size(); ++k) {
        check_interrupted();
        auto& p = paths[(k + rot) % paths.size()];
        std::string tag =
            std::to_string(k) + "-" + (timed ? std::to_string(i) : "w" + std::to_string(-i));
        if (p.how == path::run) {
          double ms = run_directly(p.runtime, bundle, dir.path(), tag);
          if (timed) p.totals.push_back(ms);
        } else {
          auto s = p.how == path::shim ? run_through_shim(p.runtime, bundle, state_root, tag)
                                       : run_split(p.runtime, bundle, dir.path(), tag);
          if (timed) {
            p.samples.push_back(s);
            p.totals.push_back(s.total);
          }
        }
        // Shims and containers whose parent exited were reparented to us.
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
      }
    }
    std::cerr << "\n";

    print_header(paths, iterations, warmup);
    // Each shim path against the runtime's `run` (the target) and against the
    // split CLI sequence (what the shim itself adds); paths come in that order.
    std::vector<std::pair<const path*, const path*>> vs_run, vs_split;
    for (size_t i = 0; i + 2 < paths.size(); ++i) {
      if (paths[i].how != path::shim) continue;
      vs_run.push_back({&paths[i], &paths[i + 1]});
      vs_split.push_back({&paths[i], &paths[i + 2]});
    }
    print_ratios(vs_run, target);
    print_ratios(vs_split, 0);
    print_breakdown(paths);
    for (const auto& n : notes) std::cout << "Note: " << n << "\n";
    if (!notes.empty()) std::cout << "\n";
  } catch (const std::exception& e) {
    std::cerr << "\nshim_lifecycle_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
