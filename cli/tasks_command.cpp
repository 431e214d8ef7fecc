#include "cli/tasks_command.hpp"

#include <iostream>
#include <memory>

#include "cli/create_options.hpp"
#include "cli/display.hpp"
#include "cli/flag_values.hpp"
#include "cli/json_output.hpp"
#include "cli/signal_names.hpp"
#include "cli/table.hpp"
#include "cli/task_io_verbs.hpp"
#include "cli/task_ref.hpp"
#include "cli/task_session.hpp"

namespace berth::cli {
namespace {

int list(daemon_client& client, bool quiet, const std::string& format) {
  auto req = client.berth().listTasksRequest();
  req.initReq().setNamespace(client.ns());
  auto resp = client.wait(req.send(), "list tasks");
  check(resp.getResp(), "list tasks");
  auto tasks = resp.getResp().getTasks();
  if (format == kFormatJson) {
    std::cout << to_json_array(tasks).dump(2) << "\n";
  } else if (quiet) {
    for (auto t : tasks) std::cout << t.getId().cStr() << "\n";
  } else {
    table out({"TASK", "PID", "STATUS"});
    for (auto t : tasks) {
      out.add({t.getId().cStr(), std::to_string(t.getPid()), status_name(t.getStatus())});
    }
    out.print(std::cout);
  }
  return 0;
}

int ps(daemon_client& client, const std::string& id, const std::string& format) {
  task_ref ref(client, id);
  auto req = ref.task().pidsRequest();
  req.initReq();
  auto resp = call_task(client, ref, req, "list processes of task " + id);
  auto processes = resp.getResp().getProcesses();
  if (format == kFormatJson) {
    std::cout << to_json_array(processes).dump(2) << "\n";
    return 0;
  }
  table out({"PID", "EXEC", "COMMAND"});
  for (auto p : processes) {
    out.add({std::to_string(p.getPid()), p.getExecId().cStr(), p.getCommand().cStr()});
  }
  out.print(std::cout);
  return 0;
}

struct kill_options {
  std::string id, exec_id;
  std::string signal = "SIGTERM";
  bool all = false;
};

int kill(daemon_client& client, const kill_options& o) {
  task_ref ref(client, o.id);
  auto req = ref.task().killRequest();
  auto r = req.initReq();
  r.setExecId(o.exec_id);
  r.setSignal(static_cast<uint32_t>(parse_signal(o.signal).value()));
  r.setAll(o.all);
  call_task(client, ref, req, "kill task " + o.id);
  return 0;
}

int pause(daemon_client& client, const std::string& id) {
  task_ref ref(client, id);
  auto req = ref.task().pauseRequest();
  req.initReq();
  call_task(client, ref, req, "pause task " + id);
  return 0;
}

int resume(daemon_client& client, const std::string& id) {
  task_ref ref(client, id);
  auto req = ref.task().resumeRequest();
  req.initReq();
  call_task(client, ref, req, "resume task " + id);
  return 0;
}

// Prints the exit code once the process ended, as `docker wait` does.
int wait(daemon_client& client, const std::string& id, const std::string& exec_id) {
  task_ref ref(client, id);
  auto req = ref.task().waitRequest();
  req.initReq().setExecId(exec_id);
  auto promise = req.send();
  ref.info();
  std::string what = "wait for task " + id;
  auto resp = client.wait_unbounded(kj::mv(promise), what);
  check(resp.getResp(), what);
  std::cout << resp.getResp().getStatus().getCode() << "\n";
  return 0;
}

int remove(daemon_client& client, const std::vector<std::string>& ids, bool force,
           const std::string& exec_id) {
  int rc = 0;
  for (const auto& id : ids) {
    try {
      task_ref ref(client, id);
      auto req = ref.task().deleteRequest();
      auto r = req.initReq();
      r.setExecId(exec_id);
      r.setForce(force);
      call_task(client, ref, req, "delete task " + id);
    } catch (const command_error& e) {
      print_error(e);
      rc = 1;
    }
  }
  return rc;
}

int metrics(daemon_client& client, const std::string& id, const std::string& format) {
  task_ref ref(client, id);
  auto req = ref.task().metricsRequest();
  req.initReq();
  auto resp = call_task(client, ref, req, "metrics of task " + id);
  auto stats = resp.getResp().getStats();
  if (format == kFormatJson) {
    std::cout << to_json(stats).dump(2) << "\n";
    return 0;
  }
  table out({"METRIC", "VALUE"});
  out.add({"memory.usage_in_bytes", std::to_string(stats.getMemoryUsage())});
  out.add({"memory.limit_in_bytes", std::to_string(stats.getMemoryLimit())});
  out.add({"cpu.usage_ns", std::to_string(stats.getCpuUsageNs())});
  out.add({"pids.current", std::to_string(stats.getPidsCurrent())});
  out.add({"pids.limit", std::to_string(stats.getPidsLimit())});
  out.print(std::cout);
  return 0;
}

// An `ID` positional and a callback that runs `body(client, id)`.
template <typename Body>
void id_verb(CLI::App& parent, verb_action& chosen, const char* name, const char* help, Body body) {
  auto id = std::make_shared<std::string>();
  auto* v = parent.add_subcommand(name, help);
  v->add_option("ID", *id, "container id")->required();
  v->callback([&chosen, id, body] {
    chosen.run = [id, body](daemon_client& cl) { return body(cl, *id); };
  });
}

CLI::Option* add_format(CLI::App& verb, std::string& format) {
  return verb.add_option("--format", format, "table or json")
      ->check(CLI::IsMember({kFormatTable, kFormatJson}));
}

}  // namespace

void add_tasks_command(CLI::App& app, verb_action& chosen) {
  auto* t = app.add_subcommand("tasks", "manage tasks (running containers)");
  t->alias("t");
  t->require_subcommand(1);

  {
    auto o = std::make_shared<start_options>();
    auto* v = t->add_subcommand("start", "start a container's task; attached unless -d");
    v->add_flag("-d,--detach", o->detach, "return once it runs (output goes to its log)");
    v->add_flag("-t,--tty", o->tty, "attach a terminal (the container needs --tty too)");
    v->add_option("ID", o->id, "container id")->required();
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return start_task(cl, *o); };
      if (!o->detach) chosen.signals = kAttachedSignals;
    });
  }
  {
    struct list_options {
      bool quiet = false;
      std::string format = kFormatTable;
    };
    auto o = std::make_shared<list_options>();
    auto* v = t->add_subcommand("ls", "list tasks");
    v->alias("list");
    v->add_flag("-q,--quiet", o->quiet, "print only the ids");
    add_format(*v, o->format);
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return list(cl, o->quiet, o->format); };
    });
  }
  {
    struct ps_options {
      std::string id, format = kFormatTable;
    };
    auto o = std::make_shared<ps_options>();
    auto* v = t->add_subcommand("ps", "list the processes of a task");
    v->add_option("ID", o->id, "container id")->required();
    add_format(*v, o->format);
    v->callback(
        [&chosen, o] { chosen.run = [o](daemon_client& cl) { return ps(cl, o->id, o->format); }; });
  }
  {
    auto o = std::make_shared<kill_options>();
    auto* v = t->add_subcommand("kill", "signal a task (SIGTERM unless -s)");
    v->add_option("-s,--signal", o->signal, "signal name or number (SIGKILL, KILL, 9)")
        ->check(signal_validator());
    v->add_flag("-a,--all", o->all, "signal every process of the container");
    v->add_option("--exec-id", o->exec_id, "signal this exec process instead of init");
    v->add_option("ID", o->id, "container id")->required();
    v->callback([&chosen, o] { chosen.run = [o](daemon_client& cl) { return kill(cl, *o); }; });
  }
  id_verb(*t, chosen, "pause", "freeze a task", pause);
  id_verb(*t, chosen, "resume", "thaw a paused task", resume);
  {
    auto o = std::make_shared<exec_options>();
    auto* v = t->add_subcommand("exec", "run another process in a running task");
    v->positionals_at_end();
    v->add_flag("-d,--detach", o->detach, "return once it runs");
    v->add_flag("-t,--tty", o->tty, "allocate a terminal");
    v->add_option("--exec-id", o->exec_id, "id of the new process")->required();
    v->add_option("--cwd", o->cwd, "working directory");
    v->add_option("--env", o->env, "add an environment variable (repeatable)")
        ->allow_extra_args(false)
        ->check(env_validator());
    v->add_option("ID", o->id, "container id")->required();
    v->add_option("ARGS", o->args, "command and arguments")->required();
    v->callback([&chosen, o] {
      o->args = command_args(o->args);
      chosen.run = [o](daemon_client& cl) { return exec_process(cl, *o); };
      if (!o->detach) chosen.signals = kAttachedSignals;
    });
  }
  {
    struct wait_options {
      std::string id, exec_id;
    };
    auto o = std::make_shared<wait_options>();
    auto* v = t->add_subcommand("wait", "wait for a task to exit and print its exit code");
    v->add_option("--exec-id", o->exec_id, "wait for this exec process instead");
    v->add_option("ID", o->id, "container id")->required();
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return wait(cl, o->id, o->exec_id); };
    });
  }
  {
    struct rm_options {
      std::vector<std::string> ids;
      std::string exec_id;
      bool force = false;
    };
    auto o = std::make_shared<rm_options>();
    auto* v = t->add_subcommand("rm", "delete stopped tasks (-f: kill running ones first)");
    v->alias("delete");
    v->alias("del");
    v->add_flag("-f,--force", o->force, "kill the task first if it still runs");
    v->add_option("--exec-id", o->exec_id, "delete this exec process instead");
    v->add_option("ID", o->ids, "container ids")->required();
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return remove(cl, o->ids, o->force, o->exec_id); };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* v = t->add_subcommand(
        "attach", "connect to a running task's stdin, stdout and stderr until it exits");
    v->add_option("ID", *id, "container id")->required();
    v->callback([&chosen, id] {
      chosen.run = [id](daemon_client& cl) { return attach_task(cl, *id); };
      chosen.signals = {SIGINT, SIGTERM};
    });
  }
  {
    struct metrics_options {
      std::string id, format = kFormatTable;
    };
    auto o = std::make_shared<metrics_options>();
    auto* v = t->add_subcommand("metrics", "memory, CPU and pids of a task");
    v->alias("metric");
    v->add_option("ID", o->id, "container id")->required();
    add_format(*v, o->format);
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return metrics(cl, o->id, o->format); };
    });
  }
  {
    struct logs_verb_options {
      std::string id;
      logs_options logs;
      std::string since;
    };
    auto o = std::make_shared<logs_verb_options>();
    auto* v = t->add_subcommand("logs", "print a task's output log");
    v->add_flag("-f,--follow", o->logs.follow, "keep printing until the task exits");
    v->add_option("-n,--tail", o->logs.tail, "print only the last N lines")
        ->check(CLI::PositiveNumber);
    v->add_option("--since", o->since,
                  "print only lines logged since TIME: RFC 3339 (2026-12-02T06:00:00Z), "
                  "Unix seconds, or a duration ago (10m, 1h30m)")
        ->check([](const std::string& text) -> std::string {
          try {
            parse_since(text);
            return "";
          } catch (const std::invalid_argument& e) {
            return e.what();
          }
        });
    v->add_option("ID", o->id, "container id")->required();
    v->callback([&chosen, o] {
      if (!o->since.empty()) o->logs.since_ns = parse_since(o->since);
      chosen.run = [o](daemon_client& cl) { return task_logs(cl, o->id, o->logs); };
    });
  }
}

}  // namespace berth::cli
