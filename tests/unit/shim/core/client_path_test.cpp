// open_client_path alone, in a temp dir: what the shim opens for a client's
// stdio (FIFOs and regular files) and what it refuses even when berthd let
// the path through (a client may swap it in between): symbolic links on the
// last component or on the way, directories, devices; and a missing file is
// never created across a symbolic link.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "shim/core/client_path.hpp"
#include "tests/support/busybox_bundle.hpp"

using berth::shim::client_path_use;
using berth::shim::open_client_path;
using berth::test::temp_dir;

namespace {

const std::string kRule = "must be a FIFO or a regular file reached without a symbolic link; ";

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("client_path: FIFOs and regular files open as asked", "[unit][shim][io]") {
  temp_dir dir("berth-client-path");
  auto fifo = dir / "io.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  {  // a FIFO nobody reads yet: held read-write, so the open does not block
    auto f = open_client_path("stdout", fifo, client_path_use::write);
    CHECK(f.fifo);
    CHECK((::fcntl(f.fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK((::fcntl(f.fd, F_GETFD) & FD_CLOEXEC) != 0);
    ::close(f.fd);
  }
  {  // read-only and non-blocking for stdin
    auto f = open_client_path("stdin", fifo, client_path_use::read);
    CHECK(f.fifo);
    CHECK((::fcntl(f.fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK));
    ::close(f.fd);
  }
  {  // a missing regular file is created 0600 and appended to
    auto f = open_client_path("stderr", dir / "err.txt", client_path_use::write);
    CHECK_FALSE(f.fifo);
    CHECK(::write(f.fd, "a", 1) == 1);
    ::close(f.fd);
    f = open_client_path("stderr", dir / "err.txt", client_path_use::write);
    CHECK(::write(f.fd, "b", 1) == 1);
    ::close(f.fd);
    struct stat st {};
    REQUIRE(::stat((dir / "err.txt").c_str(), &st) == 0);
    CHECK(st.st_size == 2);
    CHECK((st.st_mode & 0777) == 0600);
  }
  {  // an existing regular file as stdin
    auto f = open_client_path("stdin", dir / "err.txt", client_path_use::read);
    char buf[4] = {};
    CHECK(::read(f.fd, buf, sizeof buf) == 2);
    CHECK(std::string(buf, 2) == "ab");
    ::close(f.fd);
  }
}

TEST_CASE("client_path: links, directories and devices are refused, naming path and rule",
          "[unit][shim][io]") {
  temp_dir dir("berth-client-path");
  auto target = dir / "target.txt";
  auto link = dir / "link";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);  // dangling: target does not exist
  REQUIRE(::mkdir((dir / "real").c_str(), 0700) == 0);
  REQUIRE(::symlink((dir / "real").c_str(), (dir / "via").c_str()) == 0);

  CHECK_THROWS_WITH(open_client_path("stdout", link, client_path_use::write),
                    "invalid stdout \"" + link + "\": " + kRule + "it is a symbolic link");
  // Never created across the link.
  CHECK_FALSE(exists(target));
  CHECK_THROWS_WITH(open_client_path("stdin", link, client_path_use::read),
                    "invalid stdin \"" + link + "\": " + kRule + "it is a symbolic link");
  CHECK_THROWS_WITH(open_client_path("stdout", dir / "via/out", client_path_use::write),
                    "invalid stdout \"" + (dir / "via/out") + "\": " + kRule +
                        "a directory on its way is a symbolic link");
  CHECK_FALSE(exists(dir / "real/out"));
  CHECK_THROWS_WITH(open_client_path("stderr", dir / "real", client_path_use::write),
                    "invalid stderr \"" + (dir / "real") + "\": " + kRule + "it is a directory");
  CHECK_THROWS_WITH(open_client_path("stdout", "/dev/null", client_path_use::write),
                    "invalid stdout \"/dev/null\": " + kRule + "it is a character device");
  CHECK_THROWS_WITH(open_client_path("stdin", "/dev/zero", client_path_use::read),
                    "invalid stdin \"/dev/zero\": " + kRule + "it is a character device");
  CHECK_THROWS_WITH(open_client_path("stdin", dir / "missing", client_path_use::read),
                    "invalid stdin \"" + (dir / "missing") + "\": " + kRule + "it does not exist");
  CHECK_THROWS_WITH(open_client_path("stdout", "relative/out", client_path_use::write),
                    "invalid stdout path \"relative/out\": must be absolute");
}
