#include "cli/actor_gateway.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/command_error.hpp"

extern char** environ;

namespace berth::cli {
namespace {

// berth-actor-gateway beside this executable (installed and build trees
// alike), else BERTH_ACTOR_GATEWAY, else the name for PATH.
std::string gateway_binary() {
  if (const char* env = std::getenv("BERTH_ACTOR_GATEWAY"); env && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (auto candidate : {self.parent_path() / "berth-actor-gateway",
                           self.parent_path().parent_path() / "actors/node/berth-actor-gateway"})
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "berth-actor-gateway";
}

// One line from the gateway, bounded by its own connect timeout (it answers
// or exits within it).
std::string read_line(int fd) {
  std::string line;
  char c;
  for (;;) {
    auto n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

}  // namespace

actor_gateway::actor_gateway(const actor_options& opts) {
  std::string what = "connect to node at " + opts.address;
  char dir[] = "/tmp/berth-actor-XXXXXX";  // mkdtemp makes it 0700
  if (!::mkdtemp(dir)) throw command_error(what, std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = dir;
  socket_ = dir_ + "/api.sock";

  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    release();
    throw command_error(what, std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    release();
    throw command_error(what, std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> args{gateway_binary(),
                                "--actor",
                                opts.address,
                                "--socket",
                                socket_,
                                "--connect-timeout-ms",
                                std::to_string(static_cast<long>(opts.timeout_seconds * 1000))};
  if (opts.insecure) args.push_back("--insecure-actors");
  for (auto [flag, value] :
       {std::pair{"--tls-cert", &opts.tls_cert}, std::pair{"--tls-key", &opts.tls_key},
        std::pair{"--tls-ca", &opts.tls_ca}})
    if (!value->empty()) args.insert(args.end(), {flag, *value});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a Ctrl-C meant for a task must not end the
  // connection it is forwarded through. Default signal mask: the CLI's KJ
  // loop blocks the signals it captures.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  int rc = ::posix_spawnp(&pid_, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  to_gateway_ = in[1];
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    release();
    throw command_error(what, "cannot start " + args[0] + ": " + std::strerror(rc));
  }
  auto line = read_line(out[0]);
  ::close(out[0]);
  if (line.rfind("ready ", 0) == 0) {
    node_ = line.substr(6);
    return;
  }
  release();  // the gateway has given up, or ends once its stdin closes
  // "error CODE MESSAGE": the message already names the node and why.
  if (line.rfind("error ", 0) == 0) {
    auto space = line.find(' ', 6);
    throw command_error(what, space == std::string::npos ? line : line.substr(space + 1));
  }
  throw command_error(what, args[0] + " ended without an answer");
}

actor_gateway::~actor_gateway() {
  release();
}

void actor_gateway::release() {
  if (to_gateway_ >= 0) ::close(to_gateway_);
  to_gateway_ = -1;
  if (pid_ > 0) {
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  if (!dir_.empty()) {
    ::unlink(socket_.c_str());
    ::rmdir(dir_.c_str());
  }
  dir_.clear();
}

}  // namespace berth::cli
