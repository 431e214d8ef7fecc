// What an API client may name on the host (docs/security.md, "API clients"),
// against a real berthd and real shims. A client that is not root (nobody,
// let in through the socket's group) is refused /etc/passwd, a symbolic
// link to it, a directory, a device and paths in directories it may not
// write as stdio and as checkpoint paths, with the path and the rule named,
// and nothing on the host changes; its own files and FIFOs work (through the
// API and through the CLI). It imports only archives it could read. Root's
// stdio still works, and root too is refused links, directories and
// devices. An exec sets only the process fields a client may.
//
// Every refused call would do no harm had it got through (a process that
// writes nothing, a checkpoint inside the test's own directories), so the
// test is safe to run against a berth without these checks: it fails there
// without appending to /etc/passwd.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "api_client.hpp"
#include "tests/support/as_nobody.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kStdioRule =
    "must be a FIFO or a regular file in a directory the client may write; ";

// berthd letting the group nogroup in, with its socket reachable by nobody
// (the test's temp dirs are 0700; berthd's own files below stay as berthd
// made them).
struct group_daemon {
  static berthd_process::options with_group() {
    berthd_process::options o;
    o.extra_args = {"--group", std::to_string(kNogroup)};
    return o;
  }
  berthd_process d{with_group()};
  group_daemon() {
    auto state = std::filesystem::path(d.state());
    REQUIRE(::chmod(state.parent_path().c_str(), 0711) == 0);
    REQUIRE(::chmod(state.c_str(), 0711) == 0);
  }
};

// Runs `f` in a child process that has become nobody:nogroup (no other
// group), with its own API connection; returns what f returned, or "!" and
// why the child could not run it. The client is made on a thread of the
// child's own, so no KJ event loop of the parent's is used after the fork.
std::string as_nobody(const std::string& address,
                      const std::function<std::string(api_client&)>& f) {
  return run_as_nobody([&] {
    std::string out;
    std::thread t([&] {
      try {
        api_client c(address);
        out = f(c);
      } catch (const std::exception& e) {
        out = std::string("!") + e.what();
      }
    });
    t.join();
    return out;
  });
}

// What must not change: a file's bytes, size, mode and times.
struct fingerprint {
  std::string content;
  struct stat st {};
  explicit fingerprint(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    content = ss.str();
    REQUIRE(::lstat(path.c_str(), &st) == 0);
  }
  bool operator==(const fingerprint& o) const {
    return content == o.content && st.st_size == o.st.st_size && st.st_mode == o.st.st_mode &&
           st.st_mtim.tv_sec == o.st.st_mtim.tv_sec && st.st_mtim.tv_nsec == o.st.st_mtim.tv_nsec &&
           st.st_ino == o.st.st_ino;
  }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// createTask of `id` with the given stdio; its error ("" when created).
std::string create_task(api_client& c, const std::string& id, const std::string& in,
                        const std::string& out, const std::string& err) {
  auto req = c.berth().createTaskRequest();
  auto r = req.initReq();
  r.setId(id);
  auto s = r.initStdio();
  s.setStdin(in);
  s.setStdout(out);
  s.setStderr(err);
  return error_of(c.send(req).getResp());
}

// exec `args` as `exec_id` in task `id`, started and waited for; the first
// error, or "exit N".
std::string exec_and_wait(api_client& c, const std::string& id, const std::string& exec_id,
                          const std::vector<std::string>& args, const std::string& out,
                          const std::string& oci_json = "") {
  auto task = c.task("", id);
  auto ex = task.execRequest();
  auto r = ex.initReq();
  r.setExecId(exec_id);
  auto spec = r.initSpec();
  auto a = spec.initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i) a.set(i, args[i]);
  spec.setOciJson(oci_json);
  r.initStdio().setStdout(out);
  auto err = error_of(c.send(ex).getResp());
  if (!err.empty()) return err;
  auto start = task.startRequest();
  start.initReq().setExecId(exec_id);
  err = error_of(c.send(start).getResp());
  if (!err.empty()) return err;
  auto wait = task.waitRequest();
  wait.initReq().setExecId(exec_id);
  auto status = c.send(wait).getResp().getStatus().getCode();
  auto del = task.deleteRequest();
  del.initReq().setExecId(exec_id);
  c.send(del);
  return "exit " + std::to_string(status);
}

// A directory that nobody owns (and so may write).
struct nobody_dir {
  temp_dir dir{"berth-client-paths"};
  nobody_dir() {
    REQUIRE(::chown(dir.path().c_str(), kNobody, kNogroup) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  }
  std::string operator/(const std::string& name) const { return dir / name; }
};

}  // namespace

TEST_CASE("a client that is not root names as stdio only its own FIFOs and regular files",
          "[daemon][api][security]") {
  group_daemon g;
  auto& d = g.d;
  auto addr = d.address();
  nobody_dir own;
  temp_dir secret("berth-client-paths-root");  // 0700, root's
  {
    api_client c(addr);
    REQUIRE(c.create_container("", "probe", d.rootfs(), {"echo", "probe"}) == wire::ErrorCode::OK);
    REQUIRE(c.create_container("", "web", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
    std::string err;
    c.run("", "web", &err);
    REQUIRE(err == "");
  }
  // What a client might point berth's root shim at.
  REQUIRE(::symlink("/etc/passwd", (own / "passwd-link").c_str()) == 0);
  REQUIRE(::lchown((own / "passwd-link").c_str(), kNobody, kNogroup) == 0);
  REQUIRE(::mkdir((own / "a-dir").c_str(), 0755) == 0);
  REQUIRE(::chown((own / "a-dir").c_str(), kNobody, kNogroup) == 0);
  REQUIRE(::mknod((own / "null").c_str(), S_IFCHR | 0666, ::makedev(1, 3)) == 0);
  { std::ofstream(own / "roots-file") << "root's\n"; }  // 0644 root: in nobody's dir
  fingerprint passwd_before("/etc/passwd"), link_before(own / "passwd-link"),
      null_before(own / "null"), roots_before(own / "roots-file");

  SECTION("createTask: every stream, every way out of the rule") {
    struct refusal {
      std::string in, out, err, message;
    };
    std::vector<refusal> cases = {
        {"", "/etc/passwd", "",
         "invalid stdout \"/etc/passwd\": " + kStdioRule + "uid 65534 may not write /etc"},
        {"", "", "/etc/passwd",
         "invalid stderr \"/etc/passwd\": " + kStdioRule + "uid 65534 may not write /etc"},
        {"/etc/shadow", "", "",
         "invalid stdin \"/etc/shadow\": " + kStdioRule + "uid 65534 may not write /etc"},
        {"", own / "passwd-link", "",
         "invalid stdout \"" + (own / "passwd-link") + "\": " + kStdioRule +
             "it is a symbolic link"},
        {"", own / "a-dir", "",
         "invalid stdout \"" + (own / "a-dir") + "\": " + kStdioRule + "it is a directory"},
        {own / "a-dir", "", "",
         "invalid stdin \"" + (own / "a-dir") + "\": " + kStdioRule + "it is a directory"},
        {"", own / "null", "",
         "invalid stdout \"" + (own / "null") + "\": " + kStdioRule + "it is a character device"},
        {"", "/dev/null", "",
         "invalid stdout \"/dev/null\": " + kStdioRule + "uid 65534 may not write /dev"},
        {"", secret / "out", "",
         "invalid stdout \"" + (secret / "out") + "\": " + kStdioRule + "uid 65534 may not write " +
             secret.path()},
        {"", secret / "sub/out", "",
         "invalid stdout \"" + (secret / "sub/out") + "\": " + kStdioRule +
             "uid 65534 may not reach " + (secret / "sub")},
        {"", own / "roots-file", "",
         "invalid stdout \"" + (own / "roots-file") + "\": " + kStdioRule +
             "uid 65534 may not write it"},
    };
    for (const auto& x : cases) {
      INFO("stdin " << x.in << ", stdout " << x.out << ", stderr " << x.err);
      CHECK(as_nobody(addr, [&](api_client& c) {
              return create_task(c, "probe", x.in, x.out, x.err);
            }) == x.message);
    }
    // A checkpoint to restore from is checked the same way.
    CHECK(as_nobody(addr,
                    [&](api_client& c) {
                      auto req = c.berth().createTaskRequest();
                      req.initReq().setId("probe");
                      req.getReq().setCheckpoint("/etc");
                      return error_of(c.send(req).getResp());
                    }) ==
          "invalid checkpoint path \"/etc\": must be a directory the client may read, in a "
          "directory the client may write; uid 65534 may not write /");
    // No task was made: the refusals came before anything started.
    api_client c(addr);
    std::string err;
    CHECK(c.status("", "probe", &err) == wire::TaskStatus::UNKNOWN);
    CHECK_THAT(err, Contains("not found"));
  }

  SECTION("exec, attach and checkpoint on a running task") {
    auto refused_exec = as_nobody(addr, [&](api_client& c) {
      return exec_and_wait(c, "web", "x1", {"true"}, "/etc/passwd");
    });
    CHECK(refused_exec ==
          "invalid stdout \"/etc/passwd\": " + kStdioRule + "uid 65534 may not write /etc");
    auto refused_link = as_nobody(addr, [&](api_client& c) {
      return exec_and_wait(c, "web", "x2", {"true"}, own / "passwd-link");
    });
    CHECK(refused_link == "invalid stdout \"" + (own / "passwd-link") + "\": " + kStdioRule +
                              "it is a symbolic link");
    auto refused_attach = as_nobody(addr, [&](api_client& c) {
      auto req = c.task("", "web").attachRequest();
      req.initReq().initStdio().setStdout("/etc/passwd");
      return error_of(c.send(req).getResp());
    });
    CHECK(refused_attach ==
          "invalid stdout \"/etc/passwd\": " + kStdioRule + "uid 65534 may not write /etc");
    auto refused_checkpoint = as_nobody(addr, [&](api_client& c) {
      auto req = c.task("", "web").checkpointRequest();
      req.initReq().setPath(secret / "checkpoint");
      return error_of(c.send(req).getResp());
    });
    CHECK(refused_checkpoint == "invalid checkpoint path \"" + (secret / "checkpoint") +
                                    "\": must be a directory the client may write, or a new "
                                    "one, in a directory the client may write; uid 65534 may "
                                    "not write " +
                                    secret.path());
    auto refused_checkpoint_link = as_nobody(addr, [&](api_client& c) {
      auto req = c.task("", "web").checkpointRequest();
      req.initReq().setPath(own / "passwd-link");
      return error_of(c.send(req).getResp());
    });
    CHECK_THAT(refused_checkpoint_link,
               StartsWith("invalid checkpoint path \"" + (own / "passwd-link") + "\"") &&
                   Contains("it is a symbolic link"));

    // Its own file, made by the shim, gets the output.
    CHECK(as_nobody(addr, [&](api_client& c) {
            return exec_and_wait(c, "web", "mine", {"echo", "from nobody"}, own / "out.txt");
          }) == "exit 0");
    CHECK(read_text(own / "out.txt") == "from nobody\n");
    // Created as nobody's, so nobody can read what it asked for.
    struct stat st {};
    REQUIRE(::stat((own / "out.txt").c_str(), &st) == 0);
    CHECK(st.st_uid == kNobody);
    CHECK((st.st_mode & 0777) == 0600);
  }

  SECTION("the CLI run as nobody: its FIFOs in its own temp dir work") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(p[1], 1);
      ::dup2(p[1], 2);
      ::setenv("TMPDIR", own.dir.path().c_str(), 1);
      ::setenv("HOME", own.dir.path().c_str(), 1);
      if (::setgroups(0, nullptr) != 0 || ::setgid(kNogroup) != 0 || ::setuid(kNobody) != 0)
        ::_exit(126);
      auto cli = berthd_process::cli_binary();
      std::vector<std::string> argv = {cli,
                                       "-a",
                                       addr,
                                       "t",
                                       "exec",
                                       "--exec-id",
                                       "cli-exec",
                                       "web",
                                       "sh",
                                       "-c",
                                       "echo from the cli"};
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO(out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(out == "from the cli\n");
  }

  // Nothing on the host changed.
  CHECK(fingerprint("/etc/passwd") == passwd_before);
  CHECK(fingerprint(own / "passwd-link") == link_before);
  CHECK(fingerprint(own / "null") == null_before);
  CHECK(fingerprint(own / "roots-file") == roots_before);
  CHECK(std::filesystem::is_empty(own / "a-dir"));
  CHECK(std::filesystem::is_empty(secret.path()));
  struct stat st {};
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("root's own stdio works; root too is refused links, directories and devices",
          "[daemon][api][security]") {
  berthd_process d;
  api_client c(d.address());
  temp_dir dir("berth-client-paths");
  REQUIRE(c.create_container("", "echo", d.rootfs(), {"echo", "as root"}) == wire::ErrorCode::OK);
  REQUIRE(::symlink("/etc/passwd", (dir / "link").c_str()) == 0);
  REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
  fingerprint passwd_before("/etc/passwd");

  CHECK(create_task(c, "echo", "", "/dev/null", "") ==
        "invalid stdout \"/dev/null\": " + kStdioRule + "it is a character device");
  CHECK(create_task(c, "echo", "", dir / "link", "") ==
        "invalid stdout \"" + (dir / "link") + "\": " + kStdioRule + "it is a symbolic link");
  CHECK(create_task(c, "echo", "", "", dir / "sub") ==
        "invalid stderr \"" + (dir / "sub") + "\": " + kStdioRule + "it is a directory");
  CHECK(create_task(c, "echo", "", "", dir / "missing/out") ==
        "invalid stderr \"" + (dir / "missing/out") + "\": " + kStdioRule + "directory " +
            (dir / "missing") + " does not exist");
  CHECK(fingerprint("/etc/passwd") == passwd_before);

  // A path through a symbolic link to a directory is resolved by berthd, so
  // the shim, which follows none, opens the resolved one.
  REQUIRE(::symlink(dir.path().c_str(), (dir / "sub/up").c_str()) == 0);
  REQUIRE(create_task(c, "echo", "", dir / "sub/up/out.txt", "") == "");
  auto task = c.task("", "echo");
  auto start = task.startRequest();
  start.initReq();
  REQUIRE(error_of(c.send(start).getResp()) == "");
  auto wait = task.waitRequest();
  wait.initReq();
  CHECK(c.send(wait).getResp().getStatus().getCode() == 0);
  CHECK(read_text(dir / "out.txt") == "as root\n");
  struct stat st {};
  REQUIRE(::stat((dir / "out.txt").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(c.remove("", "echo") == "");
}

TEST_CASE("importImage reads only archives the client could read", "[daemon][api][security]") {
  group_daemon g;
  auto addr = g.d.address();
  nobody_dir own;
  temp_dir secret("berth-client-paths-root");
  write_oci_archive(secret / "image.tar", busybox_image());
  write_oci_archive(own / "image.tar", busybox_image());
  REQUIRE(::chown((own / "image.tar").c_str(), kNobody, kNogroup) == 0);
  { std::ofstream(own / "garbage.tar") << "not an archive"; }
  REQUIRE(::chmod((own / "garbage.tar").c_str(), 0644) == 0);

  auto import_as_nobody = [&](const std::string& path) {
    return as_nobody(addr, [&](api_client& c) {
      auto req = c.berth().importImageRequest();
      req.initReq().setArchivePath(path);
      return error_of(c.send(req).getResp());
    });
  };
  const std::string rule = "must be a regular file the client may read (berthd reads it); ";
  CHECK(import_as_nobody(secret / "image.tar") == "invalid archive path \"" +
                                                      (secret / "image.tar") + "\": " + rule +
                                                      "uid 65534 may not read it");
  CHECK(import_as_nobody("/etc/shadow") ==
        "invalid archive path \"/etc/shadow\": " + rule + "uid 65534 may not read it");
  CHECK(import_as_nobody(own.dir.path()) ==
        "invalid archive path \"" + own.dir.path() + "\": " + rule + "it is a directory");
  CHECK(import_as_nobody("/dev/zero") ==
        "invalid archive path \"/dev/zero\": " + rule + "it is a character device");
  // What berthd reads is the file the client opened; its errors name the
  // path the client gave.
  auto garbage = import_as_nobody(own / "garbage.tar");
  CHECK_THAT(garbage, Contains(own / "garbage.tar"));
  CHECK_THAT(garbage, !Contains("/proc/self/fd"));
  CHECK(import_as_nobody(own / "image.tar") == "");

  api_client c(addr);
  auto list = c.berth().listImagesRequest();
  list.initReq();
  auto images = c.send(list).getResp().getImages();
  REQUIRE(images.size() == 1);
  CHECK(std::string(images[0].getName().cStr()) == "docker.io/library/busybox:latest");
}

TEST_CASE("an exec sets only the process fields a client may", "[daemon][api][security]") {
  berthd_process d;
  api_client c(d.address());
  temp_dir dir("berth-client-paths");
  REQUIRE(c.create_container("", "web", d.rootfs(), {"sleep", "1000"}) == wire::ErrorCode::OK);
  std::string err;
  c.run("", "web", &err);
  REQUIRE(err == "");
  const std::string allowed =
      " (a client sets only args, env, cwd, user, terminal, consoleSize, and capabilities "
      "within the container's bounding set)";

  CHECK(exec_and_wait(
            c, "web", "m", {"true"}, "",
            R"({"args":["true"],"mounts":[{"destination":"/host","source":"/","type":"bind"}]})") ==
        "invalid process for exec m: \"mounts\" may not be set by a client" + allowed);
  CHECK(exec_and_wait(
            c, "web", "n", {"true"}, "",
            R"({"args":["true"],"namespaces":[{"type":"mount","path":"/proc/1/ns/mnt"}]})") ==
        "invalid process for exec n: \"namespaces\" may not be set by a client" + allowed);
  CHECK(exec_and_wait(c, "web", "c", {"true"}, "",
                      R"({"args":["true"],"capabilities":{"effective":["CAP_SYS_ADMIN"]}})") ==
        "invalid process for exec c: \"capabilities\" may not hold CAP_SYS_ADMIN (in "
        "\"effective\"): it is outside the container's bounding set");
  CHECK(
      exec_and_wait(c, "web", "p", {"true"}, "", R"({"args":["true"],"noNewPrivileges":false})") ==
      "invalid process for exec p: \"noNewPrivileges\" may not differ from the container's" +
          allowed);
  CHECK(exec_and_wait(c, "web", "a", {"true"}, "",
                      R"({"args":["true"],"apparmorProfile":"unconfined"})") ==
        "invalid process for exec a: \"apparmorProfile\" may not be set by a client" + allowed);

  // Within the rules: fewer capabilities than the container's, the
  // container's own no_new_privileges, env and cwd of its own.
  CHECK(exec_and_wait(c, "web", "ok", {"x"}, dir / "ok.txt",
                      R"({"args":["sh","-c","echo $X; pwd; grep CapEff /proc/self/status"],)"
                      R"("env":["X=1","PATH=/bin"],"cwd":"/tmp","noNewPrivileges":true,)"
                      R"("capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],)"
                      R"("permitted":["CAP_CHOWN"]}})") == "exit 0");
  CHECK(read_text(dir / "ok.txt") == "1\n/tmp\nCapEff:\t0000000000000001\n");
  CHECK(c.remove("", "web") == "");
}
