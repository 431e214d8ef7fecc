// What a task asks of the machine, behind three small interfaces: the OCI
// runtime (runc or crun), mount(2) and kill(2). berth-shim hands the task the
// real ones (runc_runtime.hpp, kernel_host.hpp); the unit tests hand it fakes,
// so the task's logic (which call comes when, what a failure leaves behind,
// which event goes out) is tested without root or a container. Exits come in
// the other way, through task::reaped, from whoever reaps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include <kj/async.h>

#include "shim/runc/runc_client.hpp"

namespace berth::shim {

// How one runtime command ended: nothing when it succeeded, else the reason in
// the runtime's own words ("runc kill failed: container not running").
using runtime_error = std::optional<std::string>;

// A command whose standard output is its answer (`ps`).
struct runtime_output {
  runtime_error error;
  std::string text;
};

// The OCI runtime's commands, as the task uses them. Each is started before
// the call returns (the stdio fds in `io` are handed over by then, so the
// caller may close its copies) and its promise resolves once the command has
// exited. The arguments mean what the runtime's flags of the same name mean.
class oci_runtime {
 public:
  virtual ~oci_runtime() = default;

  virtual kj::Promise<runtime_error> create(const std::string& id, const std::string& bundle,
                                            const std::string& pid_file,
                                            const std::string& console_socket,
                                            runc::spawn_stdio io) = 0;
  virtual kj::Promise<runtime_error> start(const std::string& id) = 0;
  // create and start in one: a runtime that can (runc and crun: `run
  // --detach`) saves a whole runtime process; this default does both.
  virtual kj::Promise<runtime_error> run_detached(const std::string& id, const std::string& bundle,
                                                  const std::string& pid_file,
                                                  const std::string& console_socket,
                                                  runc::spawn_stdio io) {
    return create(id, bundle, pid_file, console_socket, io)
        .then([this, id](runtime_error err) -> kj::Promise<runtime_error> {
          if (err) return kj::mv(err);
          return start(id);
        });
  }
  // Runs the OCI process in `process_json_path` detached; its pid goes to `pid_file`.
  virtual kj::Promise<runtime_error> exec(const std::string& id,
                                          const std::string& process_json_path,
                                          const std::string& pid_file,
                                          const std::string& console_socket,
                                          runc::spawn_stdio io) = 0;
  virtual kj::Promise<runtime_error> kill(const std::string& id, int signal, bool all) = 0;
  virtual kj::Promise<runtime_error> pause(const std::string& id) = 0;
  virtual kj::Promise<runtime_error> resume(const std::string& id) = 0;
  // `ps --format json`: the JSON array of the container's pids.
  virtual kj::Promise<runtime_output> ps(const std::string& id) = 0;
  virtual kj::Promise<runtime_error> update(const std::string& id,
                                            const std::string& resources_json_path) = 0;
  virtual kj::Promise<runtime_error> checkpoint(const std::string& id,
                                                const std::string& image_path, bool leave_running,
                                                const std::string& work_path) = 0;
  virtual kj::Promise<runtime_error> remove(const std::string& id, bool force) = 0;
  // Nothing when the runtime holds no container named `id`; else a promise
  // that resolves once it holds none: the shim of an earlier task with that
  // id may still be deleting it in the background (task::remove), and a
  // create now would clash. It gives up after a deadline and lets the create
  // report the clash. This default never waits.
  virtual kj::Maybe<kj::Promise<void>> released(const std::string& id) {
    (void)id;
    return nullptr;
  }
  // `delete --force`, blocking: for clean-ups that must be done before the
  // caller returns (a half-created container, a shutdown that cannot wait).
  virtual runtime_error remove_now(const std::string& id) = 0;
};

// mount(2) and umount2(2) for the task's rootfs.
class mounter {
 public:
  virtual ~mounter() = default;
  // 0, or the errno mount(2) failed with. `data` empty means none.
  virtual int mount(const std::string& source, const std::string& target, const std::string& type,
                    unsigned long flags, const std::string& data) = 0;
  // Detaches the topmost mount on `target` (MNT_DETACH): 0, or the errno
  // (EINVAL once nothing is mounted there).
  virtual int unmount(const std::string& target) = 0;
};

// kill(2), for exec processes (init is signalled through the runtime).
class signaller {
 public:
  virtual ~signaller() = default;
  // 0, or the errno kill(2) failed with (ESRCH: the process is gone).
  virtual int signal(pid_t pid, int signal) = 0;
};

// The three, as one task receives them. The task keeps the references: each
// must outlive it.
struct task_host {
  oci_runtime& runtime;
  mounter& mounts;
  signaller& signals;
};

}  // namespace berth::shim
