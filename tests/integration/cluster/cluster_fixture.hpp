// What the cluster tests share: running a program, free loopback ports, one set of certificates
// (a CA with a node and a client certificate, and a stranger's CA), berthd's
// TLS flags, and waiting for `berth nodes ls` to show a state.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "berth_runner.hpp"
#include "tests/support/test_certificates.hpp"

namespace berth::test {

// A shell command's exit code, and its stdout and stderr together.
inline std::pair<int, std::string> run_program(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A TCP port free on loopback right now (the kernel's pick, released).
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct pki {
  test_ca ca{"berth-test-ca"};
  test_ca other_ca{"someone-else"};
  certificate node = ca.issue("node");
  certificate client = ca.issue("client");
  certificate stranger = other_ca.issue("stranger");
};

inline pki& certs() {
  static pki p;
  return p;
}

// berthd's flags to publish its actors at `address` as node `name`.
inline std::vector<std::string> node_flags(const std::string& name, const std::string& address) {
  return {"--node",          name,        "--actor-address", address,    "--tls-cert",
          certs().node.cert, "--tls-key", certs().node.key,  "--tls-ca", certs().ca.cert()};
}

// Polls `berth nodes ls` at `socket_address` until a row starts with `name`
// and shows `status`; false after `deadline`.
inline bool node_shows(const std::string& socket_address, const std::string& name,
                       const std::string& status,
                       std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  do {
    auto out = run_berth_at(socket_address, {"nodes", "ls"}).out;
    size_t pos = 0;
    while (pos < out.size()) {
      auto end = out.find('\n', pos);
      if (end == std::string::npos) end = out.size();
      auto line = out.substr(pos, end - pos);
      if (line.rfind(name + " ", 0) == 0 && line.find(" " + status + " ") != std::string::npos)
        return true;
      pos = end + 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

}  // namespace berth::test
