#include "tests/unit/shim/core/task_fixture.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "schema/types.capnp.h"

namespace berth::test {
namespace {

// Records every event; returning from publish acknowledges it.
class recording_sink final : public wire::EventSink::Server {
 public:
  explicit recording_sink(std::vector<seen_event>& out) : out_(out) {}

 protected:
  kj::Promise<void> publish(PublishContext context) override {
    auto e = context.getParams().getEvent();
    seen_event seen;
    seen.sequence = e.getSequence();
    seen.topic = e.getTopic();
    if (e.isTaskExit()) {
      seen.exec_id = e.getTaskExit().getExecId();
      seen.pid = e.getTaskExit().getPid();
      seen.code = e.getTaskExit().getStatus().getCode();
    } else if (e.isTaskDelete()) {
      seen.pid = e.getTaskDelete().getPid();
      seen.code = e.getTaskDelete().getStatus().getCode();
      seen.reason = e.getTaskDelete().getStatus().getReason();
    } else if (e.isTaskCreate()) {
      seen.pid = e.getTaskCreate().getPid();
    } else if (e.isTaskStart()) {
      seen.pid = e.getTaskStart().getPid();
    } else if (e.isTaskExecStarted()) {
      seen.exec_id = e.getTaskExecStarted().getExecId();
      seen.pid = e.getTaskExecStarted().getPid();
    } else if (e.isTaskExecAdded()) {
      seen.exec_id = e.getTaskExecAdded().getExecId();
    }
    out_.push_back(seen);
    return kj::READY_NOW;
  }

 private:
  std::vector<seen_event>& out_;
};

std::string make_bundle(const temp_dir& dir) {
  std::string bundle = dir / "bundle";
  REQUIRE(mkdir(bundle.c_str(), 0700) == 0);
  REQUIRE(mkdir((dir / "state").c_str(), 0700) == 0);  // where console sockets go
  write_config(bundle, false);
  return bundle;
}

}  // namespace

void write_config(const std::string& bundle, bool terminal) {
  // What an exec inherits: env and cwd come from here unless the exec sets them.
  std::ofstream(bundle + "/config.json")
      << R"({"ociVersion":"1.0.2","process":{"terminal":)" << (terminal ? "true" : "false")
      << R"(,"args":["sleep","1000"],"env":["PATH=/bin","FROM=config"],"cwd":"/"},)"
      << R"("root":{"path":"rootfs"}})";
}

task_fixture::task_fixture()
    : bundle(make_bundle(dir)),
      rootfs(bundle + "/rootfs"),
      io(kj::setupAsyncIo()),
      task(io, {"default", kTaskId, bundle, dir / "state"}, {runtime, mounts, signals}) {
  task.events().subscribe(kj::heap<recording_sink>(events), 0);
}

task_fixture::~task_fixture() = default;

bool task_fixture::run_until(const std::function<bool()>& done, kj::Duration limit) {
  auto& timer = io.provider->getTimer();
  const auto deadline = timer.now() + limit;
  while (!done()) {
    if (timer.now() >= deadline) return false;
    timer.afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
  }
  return true;
}

void task_fixture::settle(kj::Duration for_how_long) {
  io.provider->getTimer().afterDelay(for_how_long).wait(io.waitScope);
}

std::vector<std::string> task_fixture::topics() const {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.topic);
  return out;
}

size_t task_fixture::count(const std::string& topic) const {
  return of_topic(topic).size();
}

std::vector<seen_event> task_fixture::of_topic(const std::string& topic) const {
  std::vector<seen_event> out;
  for (const auto& e : events) {
    if (e.topic == topic) out.push_back(e);
  }
  return out;
}

shim::maybe_failure task_fixture::create(std::vector<shim::mount_spec> rootfs_mounts, pid_t* pid) {
  pid_t out = 0;
  auto err = await(task.create({}, std::move(rootfs_mounts), "", out));
  if (pid) *pid = out;
  return err;
}

shim::maybe_failure task_fixture::start(const std::string& exec_id, pid_t* pid) {
  pid_t out = 0;
  auto err = await(task.start(exec_id, out));
  if (pid) *pid = out;
  return err;
}

shim::maybe_failure task_fixture::kill(const std::string& exec_id, int signal, bool all) {
  return await(task.kill(exec_id, signal, all));
}

shim::maybe_failure task_fixture::remove(const std::string& exec_id, shim::exit_record* status) {
  pid_t pid = 0;
  shim::exit_record out;
  auto err = await(task.remove(exec_id, pid, out));
  if (status) *status = out;
  return err;
}

shim::maybe_failure task_fixture::exec(const std::string& exec_id,
                                       const std::string& process_json) {
  return task.exec(exec_id, process_json, {});
}

shim::process_view task_fixture::state(const std::string& exec_id) {
  shim::process_view v;
  auto err = task.state(exec_id, v);
  INFO((err ? err->message : std::string()));
  REQUIRE_FALSE(err);
  return v;
}

void task_fixture::running() {
  auto created = create();
  INFO((created ? created->message : std::string()));
  REQUIRE_FALSE(created);
  auto started = start();
  INFO((started ? started->message : std::string()));
  REQUIRE_FALSE(started);
  REQUIRE(state().st == shim::status::running);
}

}  // namespace berth::test
