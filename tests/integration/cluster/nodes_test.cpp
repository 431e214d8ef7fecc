// Two berthd nodes that joined each other run each other's containers
// (run, exec, logs, events through either):
// first on loopback, then in two network namespaces joined by a veth pair,
// as two machines would be. A node killed -9 is reported down, calls for it
// fail at once naming it, and once restarted it rejoins with its tasks.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "berth_runner.hpp"
#include "cluster_fixture.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth::test;
using namespace std::chrono_literals;

namespace {

const char* kImage = "local/busybox:latest";

// `berth --address (node's socket) --node TARGET args…`
berth_result through(const berthd_process& via, const std::string& target,
                     std::vector<std::string> args) {
  args.insert(args.begin(), {"--node", target});
  return run_berth_at(via.address(), std::move(args));
}

std::string pid_of(const std::string& table, const std::string& id) {
  auto at = table.find("\n" + id + " ");
  if (at == std::string::npos) return "";
  auto rest = table.substr(at + 1 + id.size());
  auto first = rest.find_first_not_of(' ');
  return rest.substr(first, rest.find(' ', first) - first);
}

// The whole story between nodes a and b, whatever carries their traffic.
void two_nodes(berthd_process& a, berthd_process& b, const std::string& b_address) {
  auto id = "across-" + std::to_string(::getpid());
  REQUIRE(node_shows(a.address(), "b", "up"));
  REQUIRE(node_shows(b.address(), "a", "up"));

  // Through a, on b: the output comes back, and the container was b's.
  auto hi = through(
      a, "b", {"run", "--rm", "--rootfs", b.rootfs(), kImage, id + "-rm", "echo", "hi from b"});
  INFO(hi.err);
  CHECK(hi.exit_code == 0);
  CHECK(hi.out == "hi from b\n");

  auto started = through(a, "b", {"run", "-d", "--rootfs", b.rootfs(), kImage, id, "sleep", "600"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  auto on_b = run_berth_at(b.address(), {"t", "ls"}).out;
  CHECK(on_b.find(id + " ") != std::string::npos);
  CHECK(run_berth_at(a.address(), {"t", "ls"}).out.find(id + " ") == std::string::npos);
  auto pid = pid_of(on_b, id);
  REQUIRE_FALSE(pid.empty());

  // And the other way round: through b, on a.
  auto back = through(
      b, "a", {"run", "--rm", "--rootfs", a.rootfs(), kImage, id + "-on-a", "echo", "hi from a"});
  INFO(back.err);
  CHECK(back.exit_code == 0);
  CHECK(back.out == "hi from a\n");
  CHECK(through(b, "a", {"t", "ls"}).out.find(id + " ") == std::string::npos);

  // exec and logs across: the log is a file on b, read there for a.
  auto exec = through(a, "b", {"t", "exec", "--exec-id", "e1", id, "echo", "exec on b"});
  INFO(exec.err);
  CHECK(exec.exit_code == 0);
  CHECK(exec.out == "exec on b\n");
  auto talker = id + "-log";
  REQUIRE(through(a, "b",
                  {"run", "-d", "--rootfs", b.rootfs(), kImage, talker, "sh", "-c",
                   "echo one; echo two; echo three"})
              .exit_code == 0);
  REQUIRE(through(a, "b", {"t", "wait", talker}).exit_code == 0);
  auto logs = through(a, "b", {"t", "logs", talker});
  INFO(logs.err);
  CHECK(logs.exit_code == 0);
  CHECK(logs.out == "one\ntwo\nthree\n");
  CHECK(logs.out == run_berth_at(b.address(), {"t", "logs", talker}).out);
  CHECK(through(a, "b", {"t", "logs", "--tail", "1", talker}).out == "three\n");
  CHECK(through(a, "b", {"t", "rm", talker}).exit_code == 0);
  CHECK(through(a, "b", {"c", "rm", talker}).exit_code == 0);

  // b's events, subscribed through a: a container made on b shows.
  {
    background_berth events(a.address(), {"--node", "b", "events"});
    bool seen = false;
    for (int i = 0; i < 20 && !seen; ++i) {
      auto probe = id + "-ev" + std::to_string(i);
      run_berth_at(b.address(), {"c", "create", "--rootfs", b.rootfs(), kImage, probe, "true"});
      run_berth_at(b.address(), {"c", "rm", probe});
      seen = events.read_until(probe, 1s);
    }
    REQUIRE(seen);
    // Subscribed now (a probe's event arrived, maybe only its delete): a
    // container made after that point shows with its create.
    auto marker = id + "-ev-marker";
    run_berth_at(b.address(), {"c", "create", "--rootfs", b.rootfs(), kImage, marker, "true"});
    run_berth_at(b.address(), {"c", "rm", marker});
    INFO(events.out());
    CHECK(events.read_until("/containers/create {\"id\":\"" + marker + "\"", 10s));
  }

  // Both nodes list both, with b's container and task counted.
  auto listed = run_berth_at(a.address(), {"nodes", "ls"}).out;
  INFO(listed);
  CHECK(listed.find(b_address) != std::string::npos);
  CHECK(node_shows(a.address(), "b", "up"));

  // b is killed: a says so within 5 s, calls for b fail at once naming it,
  // and a keeps serving its own.
  b.kill9();
  CHECK(node_shows(a.address(), "b", "down", 5s));
  auto refused = through(a, "b", {"c", "ls"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("node b at " + b_address + " is down") != std::string::npos);
  CHECK(run_berth_at(a.address(), {"c", "ls"}).exit_code == 0);
  auto unknown = through(a, "c", {"c", "ls"});
  CHECK(unknown.err.find("no node c in this cluster") != std::string::npos);

  // b comes back (with its --join): it rejoins, and its task ran on.
  b.start();
  CHECK(node_shows(a.address(), "b", "up"));
  auto again = through(a, "b", {"t", "ls"}).out;
  INFO(again);
  CHECK(pid_of(again, id) == pid);
  CHECK(again.find("RUNNING") != std::string::npos);

  CHECK(through(a, "b", {"t", "rm", "-f", id}).exit_code == 0);
  CHECK(through(a, "b", {"c", "rm", id}).exit_code == 0);
}

// Two network namespaces joined by a veth pair (10.231.N.1 and .2).
struct veth_pair {
  std::string tag = std::to_string(::getpid() % 100000);
  std::string ns_a = "berth-a-" + tag, ns_b = "berth-b-" + tag;
  std::string subnet = "10.231." + std::to_string(::getpid() % 250) + ".";
  bool ok = true;

  veth_pair() {
    for (auto& cmd : std::vector<std::string>{
             "ip netns add " + ns_a,
             "ip netns add " + ns_b,
             "ip link add vb" + tag + "a netns " + ns_a + " type veth peer name vb" + tag +
                 "b netns " + ns_b,
             "ip -n " + ns_a + " addr add " + subnet + "1/24 dev vb" + tag + "a",
             "ip -n " + ns_b + " addr add " + subnet + "2/24 dev vb" + tag + "b",
             "ip -n " + ns_a + " link set vb" + tag + "a up",
             "ip -n " + ns_b + " link set vb" + tag + "b up",
             "ip -n " + ns_a + " link set lo up",
             "ip -n " + ns_b + " link set lo up",
         })
      if (std::system((cmd + " 2>&1").c_str()) != 0) {
        UNSCOPED_INFO("failed: " << cmd);
        ok = false;
      }
  }
  // Runs berthd in the namespace's network only: `ip netns exec` would also
  // remount /sys, hiding the cgroup mounts runc needs.
  std::vector<std::string> enter(const std::string& ns) const {
    return {"/usr/bin/nsenter", "--net=/run/netns/" + ns, "--"};
  }
  ~veth_pair() {
    std::system(("ip netns del " + ns_a + " 2>/dev/null").c_str());
    std::system(("ip netns del " + ns_b + " 2>/dev/null").c_str());
  }
};

}  // namespace

TEST_CASE("two nodes on loopback run each other's containers", "[cluster][nodes]") {
  auto a_at = "127.0.0.1:" + std::to_string(free_port());
  auto b_at = "127.0.0.1:" + std::to_string(free_port());
  berthd_process a{berthd_process::options{node_flags("a", a_at)}};
  auto b_flags = node_flags("b", b_at);
  b_flags.insert(b_flags.end(), {"--join", a_at});
  berthd_process b{berthd_process::options{b_flags}};
  two_nodes(a, b, b_at);
  // Stopping takes berthd a while; a kill is as good here (shims are
  // deleted by the destructors either way).
  a.kill9();
  b.kill9();
}

TEST_CASE("two nodes in two network namespaces joined by a veth pair", "[cluster][nodes]") {
  veth_pair net;
  REQUIRE(net.ok);
  auto a_at = net.subnet + "1:7731";
  auto b_at = net.subnet + "2:7732";
  berthd_process a{berthd_process::options{node_flags("a", a_at), net.enter(net.ns_a)}};
  auto b_flags = node_flags("b", b_at);
  b_flags.insert(b_flags.end(), {"--join", a_at});
  berthd_process b{berthd_process::options{b_flags, net.enter(net.ns_b)}};
  two_nodes(a, b, b_at);
  a.kill9();
  b.kill9();
}

// Two machines share no files: b gets an empty file system of its own where
// the client makes its FIFOs, so b's shim can open none of them, and stdin,
// stdout and stderr must come across through the nodes.
TEST_CASE("stdio comes across when the nodes share no files", "[cluster][nodes]") {
  std::string client_tmp = "/tmp/berth-client-XXXXXX";
  REQUIRE(::mkdtemp(client_tmp.data()) != nullptr);
  auto a_at = "127.0.0.1:" + std::to_string(free_port());
  auto b_at = "127.0.0.1:" + std::to_string(free_port());
  berthd_process a{berthd_process::options{node_flags("a", a_at)}};
  auto b_flags = node_flags("b", b_at);
  b_flags.insert(b_flags.end(), {"--join", a_at});
  std::vector<std::string> own_files = {
      "/usr/bin/unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      "mount -t tmpfs -o size=1m,mode=0700 elsewhere \"$0\" && exec \"$@\"",
      client_tmp};
  berthd_process b{berthd_process::options{b_flags, own_files}};
  REQUIRE(node_shows(a.address(), "b", "up"));

  const char* saved = std::getenv("TMPDIR");
  std::string saved_tmp = saved ? saved : "";
  ::setenv("TMPDIR", client_tmp.c_str(), 1);
  auto id = "relayed-" + std::to_string(::getpid());
  auto run_on_b = [&](const std::string& name, std::vector<std::string> command,
                      std::string input = "") {
    std::vector<std::string> args = {"--node",   "b",        "run",  "--rm",
                                     "--rootfs", b.rootfs(), kImage, id + "-" + name};
    args.insert(args.end(), command.begin(), command.end());
    berth_call call(args, a.address());
    call.input = std::move(input);
    return run_berth(call);
  };

  auto hi = run_on_b("hi", {"echo", "hi from b"});
  INFO(hi.err);
  CHECK(hi.exit_code == 0);
  CHECK(hi.out == "hi from b\n");

  auto both = run_on_b("both", {"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(both.exit_code == 3);
  CHECK(both.out == "out\n");
  CHECK(both.err.find("err\n") != std::string::npos);

  auto fed = run_on_b("cat", {"cat"}, "line one\nline two\n");
  INFO(fed.err);
  CHECK(fed.exit_code == 0);
  CHECK(fed.out == "line one\nline two\n");

  // More than the relay keeps in flight (64 KiB chunks, a few at a time).
  auto many = run_on_b("seq", {"seq", "1", "200000"});
  CHECK(many.exit_code == 0);
  CHECK(many.out.size() == 1288895);
  CHECK(many.out.substr(many.out.size() - 7) == "200000\n");

  // exec: its own relay.
  REQUIRE(through(a, "b", {"run", "-d", "--rootfs", b.rootfs(), kImage, id, "sleep", "600"})
              .exit_code == 0);
  auto exec = through(a, "b", {"t", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec on b"});
  INFO(exec.err);
  CHECK(exec.exit_code == 0);
  CHECK(exec.out == "exec on b\n");
  CHECK(through(a, "b", {"t", "rm", "-f", id}).exit_code == 0);
  CHECK(through(a, "b", {"c", "rm", id}).exit_code == 0);

  // An image archive here, imported there: the bytes go to b.
  auto archive = client_tmp + "/busybox.tar";
  write_docker_archive(archive, busybox_image());
  auto imported = through(a, "b", {"i", "import", "--name", "local/sent:1", archive});
  INFO(imported.err << imported.out);
  CHECK(imported.exit_code == 0);
  CHECK(imported.out.find("imported docker.io/local/sent:1 (sha256:") != std::string::npos);
  CHECK(run_berth_at(b.address(), {"i", "ls"}).out.find("local/sent:1") != std::string::npos);
  auto from_image = through(a, "b", {"run", "--rm", "local/sent:1", id + "-img", "echo", "sent"});
  INFO(from_image.err);
  CHECK(from_image.out == "sent\n");
  // A broken one is refused by b's images actor, naming the client's file.
  auto broken = client_tmp + "/broken.tar";
  { std::ofstream(broken) << "not really a tar\n"; }
  auto refused = through(a, "b", {"i", "import", broken});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find(broken) != std::string::npos);
  // One that cannot be opened here (a socket: open says ENXIO) is refused
  // before anything is sent.
  auto socket_path = client_tmp + "/socket.tar";
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", socket_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  auto unopened = through(a, "b", {"i", "import", socket_path});
  ::close(sock);
  ::unlink(socket_path.c_str());
  INFO(unopened.err);
  CHECK(unopened.exit_code == 1);
  CHECK(unopened.err.find("cannot open the archive " + socket_path +
                          ": No such device or address") != std::string::npos);
  CHECK(run_program("ls -A " + b.root() + "/uploads").second.empty());
  ::unlink(archive.c_str());
  ::unlink(broken.c_str());

  if (saved)
    ::setenv("TMPDIR", saved_tmp.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  // Nothing left: every relay removed its FIFOs on b, and the client its own.
  auto relays = run_program("ls -A " + b.state() + "/.relay");
  CHECK(relays.first == 0);
  CHECK(relays.second.empty());
  CHECK(run_program("ls -A " + client_tmp).second.empty());
  a.kill9();
  b.kill9();
  ::rmdir(client_tmp.c_str());
}
