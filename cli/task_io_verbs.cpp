#include "cli/task_io_verbs.hpp"

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/attached_io.hpp"
#include "cli/task_ref.hpp"
#include "cli/task_session.hpp"
#include "cli/terminal.hpp"

namespace berth::cli {
namespace {

// Deletes a finished process (the task when exec_id is empty). A failure
// is reported but does not change the exit code the process gave.
void delete_process(daemon_client& client, api::Task::Client task, const std::string& exec_id,
                    const std::string& what) {
  try {
    auto req = task.deleteRequest();
    req.initReq().setExecId(exec_id);
    auto resp = client.wait(req.send(), "delete " + what);
    check(resp.getResp(), "delete " + what);
  } catch (const command_error& e) {
    print_error(e);
  }
}

// The container's process spec with the exec's own args, terminal, cwd and
// extra env: ctr's exec starts from the container's spec too, so an exec
// gets the same PATH, user and capabilities as the container.
std::string exec_process_json(daemon_client& client, const exec_options& o) {
  auto resp = get_container(client, o.id);
  auto spec_text = resp.getResp().getContainer().getSpecJson();
  auto spec = nlohmann::json::parse(spec_text.begin(), spec_text.end(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object() || !spec.contains("process")) return {};
  auto process = spec["process"];
  process["args"] = o.args;
  process["terminal"] = o.tty;
  if (!o.cwd.empty()) process["cwd"] = o.cwd;
  for (const auto& e : o.env) process["env"].push_back(e);
  // A console size from the container's spec would be stale for this one.
  process.erase("consoleSize");
  return process.dump();
}

class log_printer final : public api::LogSink::Server {
 protected:
  kj::Promise<void> write(WriteContext context) override {
    auto params = context.getParams();
    auto line = params.getLine();
    std::ostream& out = params.getStream() == "stderr" ? std::cerr : std::cout;
    out.write(reinterpret_cast<const char*>(line.begin()),
              static_cast<std::streamsize>(line.size()));
    // A partial record's line goes on in the next one (the shim cut it).
    if (!params.getPartial() && (line.size() == 0 || line[line.size() - 1] != '\n')) out << '\n';
    out.flush();
    return kj::READY_NOW;
  }
};

bool container_has_terminal(daemon_client& client, const std::string& id) {
  auto resp = get_container(client, id);
  auto text = resp.getResp().getContainer().getSpecJson();
  auto spec = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) return false;
  return spec.value("/process/terminal"_json_pointer, false);
}

}  // namespace

int start_task(daemon_client& client, const start_options& o) {
  std::string what = "start task " + o.id;
  kj::Maybe<kj::Own<attached_io>> io;
  auto create = client.berth().createTaskRequest();
  auto r = create.initReq();
  r.setNamespace(client.ns());
  r.setId(o.id);
  if (!o.detach) {
    auto& attached = io.emplace(kj::heap<attached_io>(o.tty));
    attached->fill(r.initStdio());
    attached->start_output();
  } else {
    // As ctr's detached tasks: stdin stays open for a later `t attach`, and
    // the output goes to the task log.
    auto stdio = r.initStdio();
    stdio.setTerminal(o.tty);
    stdio.setOpenStdin(true);
  }
  // Without a terminal, create starts the process too: one runtime process
  // (`runc run --detach`) instead of `create` and `start`. A terminal is
  // sized between the two, so a shell's first prompt has the right width.
  bool one_step = !o.tty;
  r.setStart(one_step);
  // Raw before the process can print; restored on every way out of here.
  raw_terminal raw(o.tty && !o.detach ? STDIN_FILENO : -1);
  auto created = create.send();
  api::Task::Client task = created.getTask();
  if (one_step) {
    auto created_answer = client.wait(kj::mv(created), "create task " + o.id);
    check(created_answer.getResp(), "create task " + o.id);
  } else {
    kj::Promise<void> sized = !o.detach ? send_window_size(task, "") : kj::READY_NOW;
    auto start = task.startRequest();
    start.initReq();
    auto started = start.send();
    auto created_answer = client.wait(kj::mv(created), "create task " + o.id);
    check(created_answer.getResp(), "create task " + o.id);
    auto started_answer = client.wait(kj::mv(started), what);
    check(started_answer.getResp(), what);
  }

  KJ_IF_MAYBE (attached, io) {
    int code = attach_until_exit(client, task, **attached, "", o.tty, "task " + o.id);
    raw.restore();
    if (o.remove_task) delete_process(client, task, "", "task " + o.id);
    return code;
  }
  return 0;
}

int exec_process(daemon_client& client, const exec_options& o) {
  std::string what = "exec " + o.exec_id + " in task " + o.id;
  std::string process_json = exec_process_json(client, o);
  task_ref ref(client, o.id);
  auto task = ref.task();

  kj::Maybe<kj::Own<attached_io>> io;
  auto exec = task.execRequest();
  auto r = exec.initReq();
  r.setExecId(o.exec_id);
  auto spec = r.initSpec();
  auto args = spec.initArgs(static_cast<unsigned>(o.args.size()));
  for (unsigned i = 0; i < o.args.size(); ++i) args.set(i, o.args[i]);
  auto env = spec.initEnv(static_cast<unsigned>(o.env.size()));
  for (unsigned i = 0; i < o.env.size(); ++i) env.set(i, o.env[i]);
  spec.setCwd(o.cwd);
  spec.setTerminal(o.tty);
  spec.setOciJson(process_json);
  if (!o.detach) {
    auto& attached = io.emplace(kj::heap<attached_io>(o.tty));
    attached->fill(r.initStdio());
    attached->start_output();
  } else {
    // As ctr's detached tasks: stdin stays open for a later `t attach`, and
    // the output goes to the task log.
    auto stdio = r.initStdio();
    stdio.setTerminal(o.tty);
    stdio.setOpenStdin(true);
  }
  raw_terminal raw(o.tty && !o.detach ? STDIN_FILENO : -1);
  auto execed = exec.send();
  ref.info();
  auto exec_answer = client.wait(kj::mv(execed), what);
  check(exec_answer.getResp(), what);
  // start waits for exec's answer instead of being pipelined behind it:
  // berthd does not yet keep the two in order (a pipelined start can
  // arrive at the task before the exec is added and answer notFound).
  auto start = task.startRequest();
  start.initReq().setExecId(o.exec_id);
  auto started = start.send();
  auto started_answer = client.wait(kj::mv(started), "start " + what);
  check(started_answer.getResp(), "start " + what);

  KJ_IF_MAYBE (attached, io) {
    int code = attach_until_exit(client, task, **attached, o.exec_id, o.tty, what);
    raw.restore();
    delete_process(client, task, o.exec_id, what);
    return code;
  }
  return 0;
}

int attach_task(daemon_client& client, const std::string& id) {
  std::string what = "attach to task " + id;
  task_ref ref(client, id);
  auto task = ref.task();
  ref.info();
  // The task's terminal is the container's: its spec says whether there is one.
  bool tty = container_has_terminal(client, id);
  attached_io io(tty);
  auto req = task.attachRequest();
  io.fill(req.initReq().initStdio());
  io.start_output();
  raw_terminal raw(tty ? STDIN_FILENO : -1);
  auto answer = client.wait(req.send(), what);
  check(answer.getResp(), what);
  if (!answer.getResp().getStdinOpen() && is_terminal(STDIN_FILENO)) {
    std::cerr << "berth: task " << id << " has no stdin open; input is not forwarded\n";
  }
  int code = attach_until_exit(client, task, io, "", tty, "task " + id);
  raw.restore();
  return code;
}

int task_logs(daemon_client& client, const std::string& id, const logs_options& o) {
  bool follow = o.follow;
  task_ref ref(client, id);
  auto req = ref.task().logsRequest();
  req.initReq().setFollow(follow);
  req.getReq().setTail(o.tail);
  req.getReq().setSince(o.since_ns);
  req.getReq().setSink(kj::heap<log_printer>());
  auto promise = req.send();
  ref.info();
  std::string what = "logs of task " + id;
  auto answer =
      follow ? client.wait_unbounded(kj::mv(promise), what) : client.wait(kj::mv(promise), what);
  check(answer.getResp(), what);
  return 0;
}

}  // namespace berth::cli
