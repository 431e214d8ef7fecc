#include "cli/signal_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <csignal>
#include <string_view>

namespace berth::cli {
namespace {

struct named_signal {
  std::string_view name;  // without the SIG prefix
  int number;
};

// The Linux signals by name (signal(7)); aliases after their canonical name
// so signal_name() finds the canonical one first.
constexpr std::array<named_signal, 34> kSignals{{
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGIOT},
    {"POLL", SIGPOLL}, {"CLD", SIGCHLD},
}};

std::optional<int> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int n = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// "RTMIN", "RTMIN+3", "RTMAX-2". The kernel's range, not glibc's SIGRTMIN
// (which reserves two for threads): the signal goes to another process.
std::optional<int> parse_realtime(std::string_view name) {
  constexpr int kRtMin = 32, kRtMax = 64;
  auto offset = [](std::string_view rest) -> std::optional<int> {
    if (rest.empty()) return 0;
    if (rest.front() != '+' && rest.front() != '-') return std::nullopt;
    auto n = parse_number(rest.substr(1));
    if (!n) return std::nullopt;
    return rest.front() == '+' ? *n : -*n;
  };
  for (auto [prefix, base] : {std::pair{std::string_view("RTMIN"), kRtMin},
                              std::pair{std::string_view("RTMAX"), kRtMax}}) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    auto off = offset(name.substr(prefix.size()));
    if (!off) return std::nullopt;
    int signo = base + *off;
    if (signo < kRtMin || signo > kRtMax) return std::nullopt;
    return signo;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> parse_signal(const std::string& text) {
  if (auto n = parse_number(text)) {
    if (*n >= 1 && *n <= 64) return n;
    return std::nullopt;
  }
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view bare = name;
  if (bare.substr(0, 3) == "SIG") bare.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (s.name == bare) return s.number;
  }
  return parse_realtime(bare);
}

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (s.number == signo) return "SIG" + std::string(s.name);
  }
  if (signo == 32) return "SIGRTMIN";
  if (signo > 32 && signo < 64) return "SIGRTMIN+" + std::to_string(signo - 32);
  if (signo == 64) return "SIGRTMAX";
  return "SIG" + std::to_string(signo);
}

}  // namespace berth::cli
