// shim_memory_bench: memory of idle shims, each supervising one `sleep`
// container, many at once (50 by default).
//
// Every shim is started with `berth-shim start`, its task created and started
// over its socket, and the connection kept open (as berthd keeps one per
// shim). After a settle time the benchmark reads, per shim process:
//  - private: RssAnon from /proc/PID/status (anonymous resident memory: heap,
//    stacks, written data pages: what each extra shim really costs),
//  - PSS: Pss from /proc/PID/smaps_rollup (shared pages divided among sharers),
//  - RSS: VmRSS from /proc/PID/status,
// and prints medians (and min/max) in MiB. The same is read again after every
// connection was closed. Then each task is killed, waited for, deleted, and
// its shim shut down; whatever fails is force-deleted with `berth-shim delete`.
//
// All containers share one read-only busybox root filesystem; each shim gets
// its own bundle directory (config.json, logs, pid files).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench/bench_util.hpp"
#include "tests/integration/shim/shim_harness.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth;
using namespace berth::bench;
namespace ws = berth::wire::shim;

namespace {

// One client connection; all share the benchmark's single KJ event loop
// (test::shim_client owns a loop each, and a thread can have only one).
struct connection {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  ws::Task::Client task = nullptr;

  connection(kj::AsyncIoContext& io, const std::string& address) {
    std::string path = address.rfind("unix:", 0) == 0 ? address.substr(5) : address;
    auto addr = io.provider->getNetwork().parseAddress(("unix:" + path).c_str()).wait(io.waitScope);
    stream = addr->connect().wait(io.waitScope);
    rpc = kj::heap<capnp::TwoPartyClient>(*stream);
    task = rpc->bootstrap().castAs<ws::Task>();
  }
  ~connection() {
    task = nullptr;
    rpc = nullptr;
    stream = nullptr;
  }
};

struct shim {
  test::shim_args args;
  std::string address;
  int pid = 0;
  bool started = false;
  bool clean = false;
  std::unique_ptr<connection> conn;

  ~shim() {
    conn.reset();
    if (started && !clean) test::delete_shim(args);  // force-deletes and kills the shim
  }
};

struct memory {
  double rss_anon_kib = 0, pss_kib = 0, rss_kib = 0;
  int threads = 0, fds = 0;
};

// The value in kB of "Key:" in a /proc file, or -1.
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

memory measure(int pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  memory m;
  m.rss_anon_kib = proc_kib(base + "/status", "RssAnon");
  m.rss_kib = proc_kib(base + "/status", "VmRSS");
  m.pss_kib = proc_kib(base + "/smaps_rollup", "Pss");
  m.threads = static_cast<int>(proc_kib(base + "/status", "Threads"));
  auto r = test::run_command({"ls", base + "/fd"});
  for (char ch : r.out) m.fds += ch == '\n';
  if (m.rss_anon_kib < 0 || m.pss_kib < 0 || m.rss_kib < 0)
    throw std::runtime_error("cannot read the memory of shim pid " + std::to_string(pid));
  return m;
}

void start_task(kj::AsyncIoContext& io, shim& s) {
  auto& task = s.conn->task;
  {
    auto req = task.createRequest();
    auto q = req.initReq();
    q.setId(s.args.id);
    q.setBundle(s.args.bundle);
    q.initStdio();
    check_ok(req.send().wait(io.waitScope).getResp(), "create " + s.args.id);
  }
  auto req = task.startRequest();
  req.initReq();
  check_ok(req.send().wait(io.waitScope).getResp(), "start " + s.args.id);
}

void stop_task(kj::AsyncIoContext& io, shim& s) {
  if (!s.conn) s.conn = std::make_unique<connection>(io, s.address);
  auto& task = s.conn->task;
  {
    auto req = task.killRequest();
    req.initReq().setSignal(SIGKILL);
    check_ok(req.send().wait(io.waitScope).getResp(), "kill " + s.args.id);
  }
  {
    auto req = task.waitRequest();
    req.initReq();
    check_ok(req.send().wait(io.waitScope).getResp(), "wait " + s.args.id);
  }
  {
    auto req = task.deleteRequest();
    req.initReq();
    check_ok(req.send().wait(io.waitScope).getResp(), "delete " + s.args.id);
  }
  {
    auto req = task.shutdownRequest();
    req.initReq();
    check_ok(req.send().wait(io.waitScope).getResp(), "shutdown " + s.args.id);
  }
  s.conn.reset();
  if (!wait_gone(s.pid, 5000)) throw std::runtime_error("shim " + s.args.id + " did not exit");
  s.clean = true;
}

void print_table(const std::string& title, const std::vector<memory>& ms, bool with_targets) {
  auto col = [&](double memory::*field) {
    std::vector<double> v;
    for (const auto& m : ms) v.push_back(m.*field / 1024.0);
    return summarize(v);
  };
  auto p = col(&memory::rss_anon_kib), s = col(&memory::pss_kib), r = col(&memory::rss_kib);
  std::cout << "### " << title << "\n\n"
            << "| per shim (MiB) | median | min | max |" << (with_targets ? " target | met |" : "")
            << "\n|---|---:|---:|---:|" << (with_targets ? "---:|---|" : "") << "\n";
  auto row = [&](const char* name, const summary& x, double target) {
    std::cout << "| " << name << " | " << fixed(x.median, 3) << " | " << fixed(x.min, 3) << " | "
              << fixed(x.max, 3) << " |";
    if (with_targets) {
      if (target > 0)
        std::cout << " ≤ " << fixed(target, 1) << " | " << (x.median <= target ? "yes" : "**no**")
                  << " |";
      else
        std::cout << " | |";
    }
    std::cout << "\n";
  };
  row("private (RssAnon)", p, 0.3);
  row("PSS", s, 0.4);
  row("RSS", r, 0);
  std::vector<double> threads, fds;
  for (const auto& m : ms) {
    threads.push_back(m.threads);
    fds.push_back(m.fds);
  }
  std::cout << "\nshims measured: " << ms.size()
            << "; threads per shim (median): " << summarize(threads).median
            << "; open fds per shim (median): " << summarize(fds).median << "\n\n";
}

int run(int count, double settle, const std::string& runtime) {
  // Declared in this order so that the shims go (and are force-deleted if
  // need be) before their connections' event loop and their bundles.
  test::temp_dir dir("berth-bench");
  auto io = kj::setupAsyncIo();
  std::vector<std::unique_ptr<shim>> shims;
  int rc = 0;

  // One read-only root filesystem for every container.
  test::make_busybox_bundle(dir / "image", {.args = {"sleep", "3600"}});
  auto config = nlohmann::json::parse(
      test::busybox_config_json({.args = {"sleep", "3600"}, .readonly_rootfs = true}));
  config["root"]["path"] = dir / "image/rootfs";
  const std::string config_text = config.dump(2);

  try {
    for (int i = 0; i < count; ++i) {
      check_interrupted();
      std::cerr << "starting shim " << (i + 1) << "/" << count << "\r" << std::flush;
      auto s = std::make_unique<shim>();
      auto& a = s->args;
      a.ns = "bench";
      a.id = task_id(std::to_string(i));
      a.bundle = dir / a.id;
      a.state_dir = a.bundle;
      a.runtime = runtime;
      if (mkdir(a.bundle.c_str(), 0700) != 0) throw std::runtime_error("cannot create " + a.bundle);
      std::ofstream(a.bundle + "/config.json") << config_text;
      shims.push_back(std::move(s));
      auto& sh = *shims.back();
      sh.started = true;
      auto r = test::start_shim(a);
      if (r.exit_code != 0) throw std::runtime_error("berth-shim start: " + first_line(r.err));
      sh.address = r.out;
      sh.pid = test::shim_pid(a.state_dir);
      sh.conn = std::make_unique<connection>(io, sh.address);
      start_task(io, sh);
    }
    std::cerr << "\n";

    auto settle_for = [&] {
      for (int t = 0; t < static_cast<int>(settle * 10); ++t) {
        check_interrupted();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    };
    auto measure_all = [&] {
      std::vector<memory> ms;
      for (auto& s : shims) ms.push_back(measure(s->pid));
      return ms;
    };
    settle_for();
    auto connected = measure_all();
    for (auto& s : shims) s->conn.reset();
    settle_for();
    auto disconnected = measure_all();

    std::cout << "### Idle shims: " << count << " at once, each supervising `sleep 3600` ("
              << runtime << ")\n\n";
    print_table("while connected (as berthd keeps them)", connected, true);
    print_table("after every client connection closed", disconnected, false);
  } catch (const std::exception& e) {
    std::cerr << "\nshim_memory_bench: " << e.what() << "\n";
    rc = 1;
  }

  std::cerr << "stopping " << shims.size() << " shims\n";
  for (auto& s : shims) {
    if (!s->started || s->pid <= 0) continue;
    try {
      stop_task(io, *s);
    } catch (const std::exception& e) {
      std::cerr << "shim_memory_bench: " << e.what() << " (force-deleting it)\n";
      rc = 1;
    }
  }
  return rc;  // any shim not stopped cleanly is force-deleted by its destructor
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shim_memory_bench: memory of idle shims supervising a sleeping container"};
  int count = 50;
  double settle = 2.0;
  std::string runtime = "runc";
  app.add_option("-n,--count", count, "shims (and containers) at once")->capture_default_str();
  app.add_option("--settle", settle, "seconds to wait before each measurement")
      ->capture_default_str();
  app.add_option("--runtime", runtime, "runtime binary given to the shims (runc, crun wrapper)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  setup(argv[0]);
  try {
    return run(count, settle, runtime);
  } catch (const std::exception& e) {
    std::cerr << "shim_memory_bench: " << e.what() << "\n";
    return 1;
  }
}
