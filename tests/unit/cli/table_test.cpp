// Tables aligned as ctr's tabwriter aligns them.
#include <catch2/catch.hpp>

#include <sstream>

#include "cli/display.hpp"
#include "cli/table.hpp"

using namespace berth::cli;

namespace {

std::string render(const table& t) {
  std::ostringstream out;
  t.print(out);
  return out.str();
}

}  // namespace

TEST_CASE("columns pad to the widest cell plus three, at least ten", "[cli][table]") {
  table t({"CONTAINER", "IMAGE", "RUNTIME"});
  t.add({"web", "docker.io/library/busybox:latest", "io.berth.runc.v1"});
  t.add({"a-much-longer-id", "img", "io.berth.runc.v1"});
  CHECK(render(t) ==
        "CONTAINER          IMAGE                              RUNTIME\n"
        "web                docker.io/library/busybox:latest   io.berth.runc.v1\n"
        "a-much-longer-id   img                                io.berth.runc.v1\n");
}

TEST_CASE("short columns keep the minimum width; no trailing blanks", "[cli][table]") {
  table t({"TASK", "PID", "STATUS"});
  t.add({"web", "4242", "RUNNING"});
  t.add({"db", "", ""});
  CHECK(render(t) ==
        "TASK      PID       STATUS\n"
        "web       4242      RUNNING\n"
        "db\n");
}

TEST_CASE("a header alone, and rows with missing cells", "[cli][table]") {
  table empty({"NAME", "LABELS"});
  CHECK(render(empty) == "NAME      LABELS\n");
  table t({"A", "B"});
  t.add({"x"});
  CHECK(render(t) == "A         B\nx\n");
}

TEST_CASE("multi-byte characters count as one column", "[cli][table]") {
  table t({"NAME", "X"});
  t.add({"café", "1"});
  CHECK(render(t) == "NAME      X\ncafé      1\n");
}

TEST_CASE("display helpers", "[cli][display]") {
  CHECK(status_name(berth::wire::TaskStatus::RUNNING) == "RUNNING");
  CHECK(status_name(berth::wire::TaskStatus::PAUSED) == "PAUSED");
  CHECK(format_time(0).empty());
  CHECK(format_time(1700000000000000000) == "2023-11-14T22:13:20Z");
  CHECK(format_time(1700000000120000000) == "2023-11-14T22:13:20.12Z");
  CHECK(human_size(512) == "512 B");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(5 * 1024 * 1024) == "5.0 MiB");
}
