// api_latency_bench: the API half of bench/run-comparison (issue 7).
//
//   api_latency_bench berth --address unix:PATH --rootfs DIR [--namespace NS] [--runtime NAME]
//                           [--calls 2000] [--exits 50] [--warmup 20] [--id-prefix P]
//   api_latency_bench ctr --ctr-address SOCK --namespace NS --image REF [--exits 50]
//                         [--warmup 2] [--id-prefix P] [--ctr-arg ARG]...
//
// berth mode, over Cap'n Proto with the test API client (berth_api_client):
//  - state calls on one running `sleep` task: Berth.getTask (lookup by id, what `berth t ls`
//    does per task) and Task.state on a held Task capability, each timed from send to reply,
//    --calls times after --warmup untimed calls, alternating the two;
//  - exit → subscriber: the client subscribes to "/tasks/exit" of the namespace, then
//    --exits times creates a container running `true`, creates and starts its task (pipelined),
//    and waits for its exit event. Latency = the time the event reaches the client's
//    EventSink.publish (CLOCK_REALTIME, taken first thing in the callback) minus the exit
//    time the shim stamped when it reaped the process (ExitStatus.exitedAt, CLOCK_REALTIME,
//    same machine). It covers: the shim publishing (after the process's output drained),
//    berthd's task actor storing the exit (SQLite), the events actor, and the subscriber's
//    Cap'n Proto hop.
// ctr mode, containerd through its own CLI:
//  - exit → subscriber: `ctr events` runs as a child writing to a pipe; each "/tasks/exit"
//    line is stamped (CLOCK_REALTIME) when it is read; latency = that minus the event's
//    exited_at (stamped by containerd-shim-runc-v2 when it reaped the process). Tasks are
//    `ctr run --rm IMAGE ID true`, one after another. The ctr process and the pipe add a hop
//    that berth's in-process subscriber does not pay (well under a millisecond).
//
// Output: one line per metric, tab-separated, for the script to format:
//   metric  n  p50_ms  p90_ms  p99_ms  max_ms
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"

extern char** environ;

namespace {

using clk = std::chrono::steady_clock;

int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

// Nearest rank: the smallest value with at least p% of the values at or below it.
double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void print_metric(const std::string& name, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%s\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\n", name.c_str(), v.size(), pct(v, 50),
              pct(v, 90), pct(v, 99), v.empty() ? 0.0 : v.back());
  std::fflush(stdout);
}

struct options {
  std::string mode, address, rootfs, ns = "default", runtime, image, id_prefix;
  std::string ctr_address;
  std::vector<std::string> ctr_args;
  int calls = 2000, exits = 50, warmup = -1;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "api_latency_bench: " << why << "\n"
            << "usage: api_latency_bench berth --address unix:PATH --rootfs DIR [--namespace NS]\n"
               "         [--runtime NAME] [--calls N] [--exits N] [--warmup N] [--id-prefix P]\n"
               "       api_latency_bench ctr --ctr-address SOCK --namespace NS --image REF\n"
               "         [--exits N] [--warmup N] [--id-prefix P] [--ctr-arg ARG]...\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  if (argc < 2) usage("a mode is needed");
  o.mode = argv[1];
  if (o.mode != "berth" && o.mode != "ctr") usage("unknown mode " + o.mode);
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--address") o.address = val();
    else if (a == "--rootfs") o.rootfs = val();
    else if (a == "--namespace") o.ns = val();
    else if (a == "--runtime") o.runtime = val();
    else if (a == "--image") o.image = val();
    else if (a == "--id-prefix") o.id_prefix = val();
    else if (a == "--ctr-address") o.ctr_address = val();
    else if (a == "--ctr-arg") o.ctr_args.push_back(val());
    else if (a == "--calls") o.calls = std::stoi(val());
    else if (a == "--exits") o.exits = std::stoi(val());
    else if (a == "--warmup") o.warmup = std::stoi(val());
    else usage("unknown argument " + a);
  }
  if (o.id_prefix.empty()) o.id_prefix = "lat-" + std::to_string(::getpid());
  return o;
}

// ---- berth ------------------------------------------------------------------

// Stamps each exit event as it arrives.
class stamping_sink final : public berth::wire::EventSink::Server {
 public:
  struct arrival {
    int64_t exited_at = 0, arrived = 0;
  };
  explicit stamping_sink(std::map<std::string, arrival>& out) : out_(out) {}
  kj::Promise<void> publish(PublishContext ctx) override {
    int64_t now = realtime_ns();
    auto e = ctx.getParams().getEvent();
    if (e.isTaskExit() && e.getTaskExit().getExecId().size() == 0) {
      out_[e.getId().cStr()] = {e.getTaskExit().getStatus().getExitedAt(), now};
    }
    return kj::READY_NOW;
  }

 private:
  std::map<std::string, arrival>& out_;
};

void check(const std::string& err, const std::string& what) {
  if (!err.empty()) throw std::runtime_error(what + ": " + err);
}

int run_berth(const options& o) {
  if (o.address.empty() || o.rootfs.empty()) usage("berth mode needs --address and --rootfs");
  berth::test::api_client c(o.address);
  const int warmup = o.warmup < 0 ? 20 : o.warmup;
  std::vector<std::string> made;  // containers to remove on the way out
  auto cleanup = [&] {
    for (auto& id : made) c.remove(o.ns, id);
    made.clear();
  };
  try {
    // State calls on one running task.
    const std::string sid = o.id_prefix + "-state";
    std::string msg;
    if (c.create_container(o.ns, sid, o.rootfs, {"sleep", "1000"}, &msg, o.runtime) !=
        berth::wire::ErrorCode::OK)
      throw std::runtime_error("create container " + sid + ": " + msg);
    made.push_back(sid);
    std::string err;
    auto task = c.run(o.ns, sid, &err);
    check(err, "start " + sid);
    std::vector<double> get_task, state;
    for (int i = 0; i < warmup + o.calls; ++i) {
      bool timed = i >= warmup;
      // Alternate which goes first, so neither always follows the other.
      for (int k = 0; k < 2; ++k) {
        bool do_get = ((i + k) % 2) == 0;
        auto t0 = clk::now();
        if (do_get) {
          auto req = c.berth().getTaskRequest();
          req.initReq().setNamespace(o.ns);
          req.getReq().setId(sid);
          auto resp = req.send().wait(c.ws());
          double ms = ms_since(t0);
          check(berth::test::error_of(resp.getResp()), "getTask");
          if (resp.getResp().getInfo().getStatus() != berth::wire::TaskStatus::RUNNING)
            throw std::runtime_error("getTask: the task is not running");
          if (timed) get_task.push_back(ms);
        } else {
          auto req = task.stateRequest();
          req.initReq();
          auto resp = req.send().wait(c.ws());
          double ms = ms_since(t0);
          check(berth::test::error_of(resp.getResp()), "Task.state");
          if (timed) state.push_back(ms);
        }
      }
    }
    print_metric("berth_get_task", get_task);
    print_metric("berth_task_state", state);
    check(c.remove(o.ns, sid), "remove " + sid);
    made.clear();

    // Exit → subscriber.
    std::map<std::string, stamping_sink::arrival> arrivals;
    auto sreq = c.berth().subscribeRequest();
    auto r = sreq.initReq();
    r.initFilter().setNamespace(o.ns);
    r.getFilter().setTopicPrefix("/tasks/exit");
    r.setSink(kj::heap<stamping_sink>(arrivals));
    auto sresp = sreq.send().wait(c.ws());
    check(berth::test::error_of(sresp.getResp()), "subscribe");
    auto subscription = sresp.getResp().getSubscription();
    const int ewarm = o.warmup < 0 ? 2 : std::min(o.warmup, 2);
    std::vector<double> lat;
    for (int i = 0; i < ewarm + o.exits; ++i) {
      std::string id = o.id_prefix + "-exit-" + std::to_string(i);
      if (c.create_container(o.ns, id, o.rootfs, {"true"}, &msg, o.runtime) !=
          berth::wire::ErrorCode::OK)
        throw std::runtime_error("create container " + id + ": " + msg);
      made.push_back(id);
      c.run(o.ns, id, &err);
      check(err, "start " + id);
      if (!c.pump_until([&] { return arrivals.count(id) > 0; }, std::chrono::seconds(20)))
        throw std::runtime_error("no exit event for " + id + " within 20 s");
      auto a = arrivals[id];
      if (i >= ewarm) lat.push_back(static_cast<double>(a.arrived - a.exited_at) / 1e6);
      check(c.remove(o.ns, id), "remove " + id);
      made.clear();
    }
    print_metric("berth_exit_event", lat);
  } catch (...) {
    cleanup();
    throw;
  }
  return 0;
}

// ---- containerd (ctr) -----------------------------------------------------------

// "2026-11-29T12:00:00.123456789Z" (or with +00:00) → ns since the epoch; 0 if malformed.
int64_t parse_rfc3339(const std::string& s) {
  std::tm tm{};
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  int64_t ns = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) ns = ns * 10 + (*rest - '0'), ++digits;
      ++rest;
    }
    while (digits++ < 9) ns *= 10;
  }
  int64_t offset = 0;
  if (*rest == '+' || *rest == '-') {
    int h = 0, m = 0;
    std::sscanf(rest + 1, "%d:%d", &h, &m);
    offset = (h * 3600 + m * 60) * (*rest == '+' ? 1 : -1);
  }
  return (static_cast<int64_t>(::timegm(&tm)) - offset) * 1000000000 + ns;
}

// The string value of "key":"..." in a JSON line, or "".
std::string json_string(const std::string& line, const std::string& key) {
  auto k = line.find("\"" + key + "\":\"");
  if (k == std::string::npos) return "";
  k += key.size() + 4;
  auto end = line.find('"', k);
  return end == std::string::npos ? "" : line.substr(k, end - k);
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  else posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int run_ctr(const options& o) {
  if (o.ctr_address.empty() || o.image.empty()) usage("ctr mode needs --ctr-address and --image");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t events = spawn({"ctr", "-a", o.ctr_address, "-n", o.ns, "events"}, p[1]);
  ::close(p[1]);

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::pair<int64_t, int64_t>> arrivals;  // id → (exited_at, arrived)
  std::thread reader([&] {
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(p[0], chunk, sizeof chunk);
      int64_t now = realtime_ns();
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (line.find("/tasks/exit") == std::string::npos) continue;
        std::string id = json_string(line, "container_id");
        int64_t exited = parse_rfc3339(json_string(line, "exited_at"));
        if (id.empty() || exited == 0) {
          std::cerr << "api_latency_bench: cannot read exit event: " << line << "\n";
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        arrivals[id] = {exited, now};
        cv.notify_all();
      }
    }
  });
  auto stop_events = [&] {
    ::kill(events, SIGTERM);
    ::waitpid(events, nullptr, 0);
    reader.join();
    ::close(p[0]);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let ctr subscribe

  const int ewarm = o.warmup < 0 ? 2 : std::min(o.warmup, 2);
  std::vector<double> lat;
  try {
    for (int i = 0; i < ewarm + o.exits; ++i) {
      std::string id = o.id_prefix + "-exit-" + std::to_string(i);
      std::vector<std::string> argv = {"ctr", "-a", o.ctr_address, "-n", o.ns, "run", "--rm"};
      for (auto& a : o.ctr_args) argv.push_back(a);
      argv.insert(argv.end(), {o.image, id, "true"});
      pid_t pid = spawn(argv, -1);
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("ctr run " + id + " failed");
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return arrivals.count(id) > 0; }))
        throw std::runtime_error("no exit event for " + id + " within 20 s");
      auto a = arrivals[id];
      if (i >= ewarm) lat.push_back(static_cast<double>(a.second - a.first) / 1e6);
    }
  } catch (...) {
    stop_events();
    throw;
  }
  stop_events();
  print_metric("ctr_exit_event", lat);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  options o = parse(argc, argv);
  try {
    return o.mode == "berth" ? run_berth(o) : run_ctr(o);
  } catch (const kj::Exception& e) {
    std::cerr << "api_latency_bench: " << e.getDescription().cStr() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "api_latency_bench: " << e.what() << "\n";
  }
  return 1;
}
