#include "tests/support/registry_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace berth::test {

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

std::string shell_output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (status != 0) throw std::runtime_error(cmd + " failed: " + out);
  return out;
}

}  // namespace

registry_process::registry_process(options o) : o_(std::move(o)) {
  int port = free_port();
  host_ = "127.0.0.1:" + std::to_string(port);
  std::string config = dir_ / "config.yml";
  std::ofstream c(config);
  c << "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
    << storage() << "\n  delete:\n    enabled: true\nhttp:\n  addr: " << host_ << "\n";
  if (!o_.tls_cert.empty())
    c << "  tls:\n    certificate: " << o_.tls_cert << "\n    key: " << o_.tls_key << "\n";
  if (!o_.user.empty()) {
    std::string htpasswd = dir_ / "htpasswd";
    shell_output("htpasswd -Bbn '" + o_.user + "' '" + o_.password + "' > " + htpasswd);
    c << "auth:\n  htpasswd:\n    realm: berth-test\n    path: " << htpasswd << "\n";
  }
  c.close();
  std::string log = dir_ / "registry.log";
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    ::dup2(2, 1);
    ::execlp("docker-registry", "docker-registry", "serve", config.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (accepts(port)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      throw std::runtime_error("docker-registry exited at start: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("docker-registry did not listen on " + host_ + " within 10 s");
}

registry_process::~registry_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string registry_process::blob_path(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

std::string registry_process::push(const std::string& archive, const std::string& repo_tag,
                                   const std::string& flags) const {
  std::string creds = o_.user.empty() ? "" : " --dest-creds '" + o_.user + ":" + o_.password + "'";
  // The test's own setup: no need to make skopeo trust the test CA.
  std::string tls = " --dest-tls-verify=false";
  std::string digest_file = dir_ / "pushed.digest";
  shell_output("skopeo --insecure-policy copy --quiet" + flags + tls + creds + " --digestfile " +
               digest_file + " oci-archive:" + archive + " docker://" + host_ + "/" + repo_tag);
  std::ifstream in(digest_file);
  std::string digest;
  std::getline(in, digest);
  return digest;
}

std::string registry_process::push_oci_archive(const std::string& archive,
                                               const std::string& repo_tag) const {
  return push(archive, repo_tag, "");
}

std::string registry_process::push_oci_archive_all(const std::string& archive,
                                                   const std::string& repo_tag) const {
  return push(archive, repo_tag, " --all");
}

std::string registry_process::tag_digest(const std::string& repo_tag) const {
  std::string creds = o_.user.empty() ? "" : " --creds '" + o_.user + ":" + o_.password + "'";
  auto out = shell_output("skopeo inspect --raw --tls-verify=false" + creds + " docker://" + host_ +
                          "/" + repo_tag + " | sha256sum");
  return "sha256:" + out.substr(0, 64);
}

}  // namespace berth::test
