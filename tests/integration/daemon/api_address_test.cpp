// berthd's --address and the CLI's take a socket the three ways containerd
// and ctr do: a bare path, unix:PATH and unix://PATH, each naming the same
// socket; anything else is refused with the forms it accepts.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/berthd_process.hpp"
#include "tests/support/busybox_bundle.hpp"

using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> forms(const std::string& path) {
  return {path, "unix:" + path, "unix://" + path};
}

// Runs `cmd` through the shell; its exit status and what it printed.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// berthd on a throwaway root and state, listening at `address`.
pid_t start_berthd(const temp_dir& dir, const std::string& address) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string log = dir / "berthd.log";
    std::freopen(log.c_str(), "a", stderr);
    std::string root = dir / "root", state = dir / "state";
    std::string bin = berthd_process::berthd_binary(), shim = berthd_process::shim_binary();
    ::execl(bin.c_str(), bin.c_str(), "--root", root.c_str(), "--state", state.c_str(),
            "--shim-binary", shim.c_str(), "--address", address.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

bool wait_for_socket(const std::string& path, pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_CASE("berthd --address and berth --address: PATH, unix:PATH and unix://PATH",
          "[daemon][address]") {
  for (const auto& daemon_form : forms("/SOCK")) {
    temp_dir dir{"berth-address"};
    std::string sock = dir / "api.sock";
    std::string given = daemon_form.substr(0, daemon_form.size() - 5) + sock;
    INFO("berthd --address " << given);
    pid_t pid = start_berthd(dir, given);
    REQUIRE(wait_for_socket(sock, pid));
    for (const auto& client : forms(sock)) {
      INFO("berth --address " << client);
      auto [code, out] = shell(berthd_process::cli_binary() + " --address " + client + " version");
      CHECK(code == 0);
      CHECK_THAT(out, Contains("berthd"));
    }
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
  }

  for (const std::string bad : {"relative.sock", "unix:relative.sock", "unix://relative.sock"}) {
    INFO("berthd --address " << bad);
    temp_dir dir{"berth-address-bad"};
    auto [code, out] = shell(berthd_process::berthd_binary() + " --root " + (dir / "root") +
                             " --state " + (dir / "state") + " --address " + bad);
    CHECK(code == 1);
    CHECK_THAT(out, Contains("invalid address \"" + bad +
                             "\": expected /ABSOLUTE/PATH, unix:/ABSOLUTE/PATH, "
                             "unix:///ABSOLUTE/PATH or tls://HOST:PORT"));
  }
}
