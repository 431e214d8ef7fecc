// berthd under chaos and under a long soak, with real shims and runc.
//
// Chaos: 8 clients create, start, exec, kill and delete containers while
// berthd is killed with SIGKILL at random moments and started again. Then
// every container is removed, and a subscriber that starts from sequence 0
// must see exactly one init exit for every task that was started, none
// twice; no shim, mount or cgroup is left, and berthd's fds are back where
// a fresh berthd has them.
//
// Soak: the same clients for many cycles without kills; the same checks, and
// berthd's RSS has not grown.
//
// BERTH_CHAOS_ROUNDS (default 25 here; scripts/chaos runs 100) and
// BERTH_SOAK_CYCLES (default 200; scripts/chaos runs 1000) set the size;
// BERTH_CHAOS_TRACE=1 prints each step of each cycle with its time.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"

using namespace berth;
using namespace berth::test;
using namespace std::chrono_literals;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = ::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

int mounts_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    if (line.find(dir) != std::string::npos) ++n;
  return n;
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

// VmRSS is what the bound holds to; the soak also bounds RssAnon (private
// anonymous memory). With glibc's default arenas (one per allocating thread)
// RssAnon grew 4.9 MiB over 1,000 soak cycles; berthd now keeps one arena
// (berthd_main.cpp) and it grows 1.5 MiB, within SQLite's page cache (up to
// 2 MiB, filling as the event log grows). After the chaos the last berthd
// has recovered a large database and replayed its whole event log to the
// subscriber, so there only VmRSS is bounded: it also counts binary pages each
// code path touches once (recovery's, which the baseline had not run).
struct memory_kib {
  long rss = -1, anon = -1;
};

memory_kib memory_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  memory_kib m;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss = std::atol(line.c_str() + 6);
    if (line.rfind("RssAnon:", 0) == 0) m.anon = std::atol(line.c_str() + 8);
  }
  return m;
}

// Cgroups berth made for namespace `ns` that are still there (v1 hierarchies).
std::vector<std::string> cgroups_left(const std::string& ns) {
  std::vector<std::string> left;
  for (const char* h : {"memory", "pids", "cpu,cpuacct", "freezer", "devices"}) {
    std::error_code ec;
    auto dir = std::string("/sys/fs/cgroup/") + h + "/berth/" + ns;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      if (it->is_directory()) left.push_back(it->path().string());
  }
  return left;
}

// One client's life: cycles of create, start, exec, kill, wait, delete, in a
// namespace of the test's own. Any call may fail while berthd is down; the
// client then connects again. Started ids are recorded.
struct workload {
  // rootfs() builds the bundle on first use: once, before the clients run.
  workload(berthd_process& daemon, std::string name)
      : d(daemon), ns(std::move(name)), rootfs(daemon.rootfs()) {}
  berthd_process& d;
  std::string ns;
  std::string rootfs;
  std::atomic<bool> stop{false};
  std::atomic<int> cycles_done{0};
  std::atomic<int> next_id{0};  // ids are never reused, across phases too
  int cycles_wanted = 0;        // 0: until stop
  std::mutex mu;
  std::set<std::string> started;

  void client(int k) {
    while (!stop && (cycles_wanted == 0 || cycles_done < cycles_wanted)) {
      try {
        api_client c(d.address());
        while (!stop && (cycles_wanted == 0 || cycles_done < cycles_wanted)) {
          auto id = "c" + std::to_string(k) + "-" + std::to_string(next_id++);
          cycle(c, id);
        }
      } catch (const kj::Exception&) {
        std::this_thread::sleep_for(50ms);  // berthd is down: try again
      }
    }
  }

  void cycle(api_client& c, const std::string& id) {
    auto t0 = std::chrono::steady_clock::now();
    auto trace = [&](const char* what) {
      if (::getenv("BERTH_CHAOS_TRACE"))
        fprintf(stderr, "%s %s %lld ms\n", id.c_str(), what,
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count());
    };
    std::string why;
    if (c.create_container(ns, id, rootfs, {"sleep", "1000"}, &why) != wire::ErrorCode::OK) {
      trace(why.c_str());
      return;
    }
    std::string err;
    trace("created");
    auto task = c.run(ns, id, &err);
    trace(err.empty() ? "started" : err.c_str());
    if (err.empty()) {
      std::lock_guard<std::mutex> lock{mu};
      started.insert(id);
    }
    if (err.empty()) {
      auto exec = task.execRequest();
      auto x = exec.initReq();
      x.setExecId("x");
      auto args = x.initSpec().initArgs(1);
      args.set(0, "true");
      if (error_of(c.send(exec).getResp()).empty()) {
        auto start = task.startRequest();
        start.initReq().setExecId("x");
        c.send(start);
      }
      auto kill = task.killRequest();
      kill.initReq().setSignal(SIGKILL);
      c.send(kill);
      trace("killed");
      auto wait = task.waitRequest();
      wait.initReq();
      c.send(wait);
    }
    trace("waited");
    auto removed = c.remove(ns, id);
    trace(removed.empty() ? "removed" : removed.c_str());
    ++cycles_done;
  }
};

// Eight clients until the workload's cycles are done.
void run_clients(workload& w) {
  std::vector<std::thread> clients;
  for (int k = 0; k < 8; ++k) clients.emplace_back([&w, k] { w.client(k); });
  for (auto& t : clients) t.join();
}

// Removes every container left in `ns` (a cycle cut short by a kill).
void remove_all(api_client& c, const std::string& ns) {
  auto req = c.berth().listContainersRequest();
  req.initReq().setNamespace(ns);
  auto resp = req.send().wait(c.ws());
  std::vector<std::string> ids;
  for (auto ci : resp.getResp().getContainers()) ids.push_back(ci.getId().cStr());
  for (auto& id : ids) {
    auto failed = c.remove(ns, id);
    INFO("removing " << ns << "/" << id << ": " << failed);
    CHECK(failed.find("container:") == std::string::npos);
  }
}

// Init exits per task id, from a subscriber that starts at sequence 0.
std::map<std::string, int> init_exits_since_start(berthd_process& d, api_client& c,
                                                  const std::string& ns, std::uint64_t* last_seq) {
  c.events.clear();
  c.subscribe(ns, "", 0);
  // Replay is done once a fresh marker event arrives: a container created
  // now publishes /containers/create after everything before it.
  REQUIRE(c.create_container(ns, "marker", d.rootfs(), {"true"}) == wire::ErrorCode::OK);
  REQUIRE(c.pump_until(
      [&] {
        for (auto& e : c.events)
          if (e.id == "marker" && e.topic == "/containers/create") return true;
        return false;
      },
      60s));
  std::map<std::string, int> exits;
  std::uint64_t prev = 0;
  for (auto& e : c.events) {
    CHECK(e.sequence > prev);  // in order, each once
    prev = e.sequence;
    if (e.topic == "/tasks/exit" && e.exec_id.empty()) ++exits[e.id];
  }
  if (last_seq) *last_seq = prev;
  return exits;
}

void check_nothing_leaked(berthd_process& d, const std::string& ns) {
  CHECK(shims_left(d.state(), 10s).empty());
  CHECK(mounts_under(d.root()) == 0);
  CHECK(mounts_under(d.state()) == 0);
  std::string cgroups, story;
  for (auto& g : cgroups_left(ns)) {
    cgroups += g + " ";
    // What berthd said of that container, for whoever reads the failure.
    auto id = g.substr(g.rfind('/') + 1);
    std::istringstream log(d.log());
    for (std::string line; std::getline(log, line);)
      if (line.find(ns + "/" + id) != std::string::npos ||
          line.find(" " + id + ":") != std::string::npos)
        story += line + "\n";
  }
  INFO("berthd's log of the containers whose cgroup is left:\n" << story);
  CHECK(cgroups == "");
}

}  // namespace

TEST_CASE("chaos: kill -9 of berthd at random moments under 8 clients loses and repeats no exit",
          "[daemon][chaos]") {
  const int rounds = env_int("BERTH_CHAOS_ROUNDS", 25);
  berthd_process d;
  workload w(d, "chaos-" + std::to_string(::getpid()));
  // The baseline: berthd after one cycle per client, without kills (first
  // allocations, caches, the database's pages).
  w.cycles_wanted = 8;
  run_clients(w);
  std::this_thread::sleep_for(4s);  // berthd's malloc_trim runs every 3 s
  size_t fresh_fds = open_fds(d.pid());
  auto fresh = memory_of(d.pid());
  w.cycles_wanted = 0;  // until stopped
  std::vector<std::thread> clients;
  // A failed restart (a REQUIRE in start()) must still stop and join the
  // clients, or their threads' destructors abort the test without a word.
  struct joined_at_exit {
    workload& w;
    std::vector<std::thread>& threads;
    ~joined_at_exit() {
      w.stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join_clients{w, clients};
  for (int k = 0; k < 8; ++k) clients.emplace_back([&w, k] { w.client(k); });
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pause_ms{500, 3000};
  for (int r = 0; r < rounds; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    d.kill9();
    auto t0 = std::chrono::steady_clock::now();
    d.start();
    if (::getenv("BERTH_CHAOS_TRACE"))
      fprintf(stderr, "round %d: berthd back in %lld ms\n", r,
              (long long)std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count());
  }
  w.stop = true;
  for (auto& t : clients) t.join();
  WARN("chaos: " << rounds << " kills of berthd, " << w.started.size() << " tasks started, "
                 << w.cycles_done << " full cycles");
  // The clients got work done between the kills (a cycle takes about 2 s on
  // a loaded 2-core machine, so most kills land inside one).
  CHECK(w.started.size() >= static_cast<size_t>(rounds));

  api_client c(d.address());
  remove_all(c, w.ns);
  auto exits = init_exits_since_start(d, c, w.ns, nullptr);
  for (auto& id : w.started) {
    INFO("task " << w.ns << "/" << id);
    CHECK(exits[id] == 1);
  }
  for (auto& [id, n] : exits) {
    INFO("task " << w.ns << "/" << id);
    CHECK(n == 1);
  }
  CHECK(c.remove(w.ns, "marker").find("container:") == std::string::npos);
  check_nothing_leaked(d, w.ns);
  CHECK(open_fds(d.pid()) <= fresh_fds + 4);
  // The last berthd recovered from everything the kills left behind; once
  // it is all removed it holds no more than the baseline.
  std::this_thread::sleep_for(4s);  // berthd's malloc_trim runs every 3 s
  auto after = memory_of(d.pid());
  WARN("berthd before the kills: RssAnon " << fresh.anon << " KiB (VmRSS " << fresh.rss
                                           << "), after the chaos: RssAnon " << after.anon
                                           << " KiB (VmRSS " << after.rss << ")");
  CHECK(after.rss <= fresh.rss + fresh.rss / 5 + 2048);
}

TEST_CASE("soak: create/start/exec/kill/delete cycles from 8 clients leak nothing",
          "[daemon][soak]") {
  const int cycles = env_int("BERTH_SOAK_CYCLES", 200);
  berthd_process d;
  workload w(d, "soak-" + std::to_string(::getpid()));
  // Warm up until the heap has seen the workload's peak (8 clients' cycles in
  // flight at once: how many overlap, and so the heap's high-water mark,
  // depends on the machine's load), then the baseline. A leak grows with the
  // cycles after it.
  const int warmup = 64;
  w.cycles_wanted = warmup;
  run_clients(w);
  std::this_thread::sleep_for(4s);  // berthd's malloc_trim runs every 3 s
  auto fds0 = open_fds(d.pid());
  auto mem0 = memory_of(d.pid());
  w.cycles_wanted = warmup + cycles;
  run_clients(w);
  std::this_thread::sleep_for(4s);
  api_client c(d.address());
  remove_all(c, w.ns);
  auto exits = init_exits_since_start(d, c, w.ns, nullptr);
  for (auto& id : w.started) {
    INFO("task " << w.ns << "/" << id);
    CHECK(exits[id] == 1);
  }
  CHECK(c.remove(w.ns, "marker").find("container:") == std::string::npos);
  check_nothing_leaked(d, w.ns);
  // Measured as the baseline was: after berthd's malloc_trim has run since the
  // last request. Without it the removals' and listings' freed pages still
  // counted (+2,304 KiB after 200 cycles, +392 after 600: timing, not a leak).
  std::this_thread::sleep_for(4s);
  auto fds1 = open_fds(d.pid());
  auto mem1 = memory_of(d.pid());
  WARN("soak of " << cycles << " cycles: berthd fds " << fds0 << " -> " << fds1 << ", RssAnon "
                  << mem0.anon << " -> " << mem1.anon << " KiB (VmRSS " << mem0.rss << " -> "
                  << mem1.rss << ")");
  CHECK(fds1 <= fds0 + 4);
  CHECK(mem1.rss <= mem0.rss + mem0.rss / 5 + 2048);
  CHECK(mem1.anon <= mem0.anon + 3072);
}
