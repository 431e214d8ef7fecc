// Fakes of the task's host (shim/core/task_host.hpp) for unit tests: a
// runtime that answers as scripted and writes pid files as runc does, a mount
// table, and a signaller that only records. All three write what they were
// asked into one journal, so a test can check the order (mount before
// `create`, unmount after its failure).
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "shim/core/task_host.hpp"

namespace berth::test {

// Pids beyond this machine's pid_max (at most 2^22): no real process is ever
// looked at or touched through them.
inline constexpr pid_t kFakePid = 4100001;

using journal = std::vector<std::string>;

struct runtime_call {
  std::string op;                 // "create", "kill", ... as the runtime's verb
  std::vector<std::string> args;  // the call's arguments, as text
};

class fake_runtime final : public shim::oci_runtime {
 public:
  explicit fake_runtime(journal& j) : journal_(j) {}
  ~fake_runtime() override;

  // How the runtime answers a verb: an error in its own words, kept until erased.
  std::map<std::string, std::string> failures;
  // Verbs that wait, each until release(verb), to see what happens meanwhile.
  std::set<std::string> held;
  // What create/exec write to their pid file when they succeed.
  pid_t next_pid = kFakePid;
  bool write_pid = true;
  std::string ps_text = "[]";

  std::vector<runtime_call> calls;
  std::string exec_process_json;  // the process file exec was given, read when called
  shim::runtime_error remove_now_answer;

  // Finishes the held call of `verb`. False when none waits.
  bool release(const std::string& verb);
  // Ids the runtime still holds a container of (an earlier task's, being
  // deleted): released(id) waits until vacate(id).
  std::set<std::string> occupied;
  void vacate(const std::string& id);
  // The calls made with this verb.
  std::vector<runtime_call> calls_of(const std::string& verb) const;

  kj::Promise<shim::runtime_error> create(const std::string& id, const std::string& bundle,
                                          const std::string& pid_file,
                                          const std::string& console_socket,
                                          runc::spawn_stdio io) override;
  kj::Promise<shim::runtime_error> start(const std::string& id) override;
  // Journaled as the verb "run" (runc's `run --detach`).
  kj::Promise<shim::runtime_error> run_detached(const std::string& id, const std::string& bundle,
                                                const std::string& pid_file,
                                                const std::string& console_socket,
                                                runc::spawn_stdio io) override;
  kj::Promise<shim::runtime_error> exec(const std::string& id, const std::string& process_json_path,
                                        const std::string& pid_file,
                                        const std::string& console_socket,
                                        runc::spawn_stdio io) override;
  kj::Promise<shim::runtime_error> kill(const std::string& id, int signal, bool all) override;
  kj::Promise<shim::runtime_error> pause(const std::string& id) override;
  kj::Promise<shim::runtime_error> resume(const std::string& id) override;
  kj::Promise<shim::runtime_output> ps(const std::string& id) override;
  kj::Promise<shim::runtime_error> update(const std::string& id,
                                          const std::string& resources_json_path) override;
  kj::Promise<shim::runtime_error> checkpoint(const std::string& id, const std::string& image_path,
                                              bool leave_running,
                                              const std::string& work_path) override;
  kj::Promise<shim::runtime_error> remove(const std::string& id, bool force) override;
  shim::runtime_error remove_now(const std::string& id) override;
  kj::Maybe<kj::Promise<void>> released(const std::string& id) override;

 private:
  struct waiting {
    kj::Own<kj::PromiseFulfiller<void>> fulfiller;
  };
  // Records the call and answers it now, or when released.
  kj::Promise<shim::runtime_error> answer(std::string verb, std::vector<std::string> args,
                                          std::string pid_file = {});
  shim::runtime_error outcome(const std::string& verb, const std::string& pid_file);

  journal& journal_;
  std::map<std::string, waiting> waiting_;
  std::map<std::string, kj::Own<kj::PromiseFulfiller<void>>> vacating_;
};

struct mount_record {
  std::string source, type;
  unsigned long flags = 0;
  std::string data;
};

class fake_mounter final : public shim::mounter {
 public:
  explicit fake_mounter(journal& j) : journal_(j) {}

  // A mount of this source fails with this errno.
  std::map<std::string, int> failures;
  // What is mounted on each target, the topmost last.
  std::map<std::string, std::vector<mount_record>> table;

  size_t mounted_on(const std::string& target) const;

  int mount(const std::string& source, const std::string& target, const std::string& type,
            unsigned long flags, const std::string& data) override;
  int unmount(const std::string& target) override;

 private:
  journal& journal_;
};

class fake_signaller final : public shim::signaller {
 public:
  explicit fake_signaller(journal& j) : journal_(j) {}

  int answer = 0;  // the errno every signal gets (0: delivered)
  std::vector<std::pair<pid_t, int>> sent;

  int signal(pid_t pid, int signal) override;

 private:
  journal& journal_;
};

}  // namespace berth::test
