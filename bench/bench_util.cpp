#include "bench/bench_util.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <sstream>

#include "tests/integration/shim/shim_harness.hpp"

namespace berth::bench {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) {
  g_interrupted = 1;
}

}  // namespace

void setup(const char* program) {
  setenv("BERTH_BUILD_DIR", BERTH_BENCH_BUILD_DIR, 0);
  setenv("BERTH_SOURCE_DIR", BERTH_BENCH_SOURCE_DIR, 0);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (geteuid() != 0) {
    std::fprintf(stderr, "%s: must run as root (it starts containers with runc)\n", program);
    std::exit(2);
  }
}

bool interrupted() {
  return g_interrupted != 0;
}

void check_interrupted() {
  if (interrupted()) throw std::runtime_error("interrupted");
}

summary summarize(std::vector<double> v) {
  summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));
  s.p90 = v[std::max<size_t>(rank, 1) - 1];
  s.min = v.front();
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) return line;
  }
  return "(no output)";
}

std::string task_id(const std::string& tag) {
  return "bench-" + std::to_string(getpid()) + "-" + tag;
}

bool wait_gone(int pid, int timeout_ms) {
  return test::eventually([&] { return !test::process_alive(pid); }, timeout_ms);
}

std::string version_line(const std::string& binary) {
  auto r = test::run_command({binary, "--version"});
  if (r.exit_code != 0) return "";
  return first_line(r.out);
}

}  // namespace berth::bench
