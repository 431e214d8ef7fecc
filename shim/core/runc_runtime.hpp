// The real oci_runtime: runc or crun started through the runc client, each
// invocation's exit waited for through the shim's reaper (never a blocking
// waitpid in the event loop).
#pragma once

#include <string>
#include <vector>

#include "shim/core/reaper.hpp"
#include "shim/core/task_host.hpp"
#include "shim/runc/runc_client.hpp"

namespace berth::shim {

class runc_runtime final : public oci_runtime {
 public:
  runc_runtime(runc::runtime_config cfg, reaper& r, kj::Timer& timer)
      : client_(cfg), deleter_(without_log_dir(cfg)), reaper_(r), timer_(timer) {}

  kj::Promise<runtime_error> create(const std::string& id, const std::string& bundle,
                                    const std::string& pid_file, const std::string& console_socket,
                                    runc::spawn_stdio io) override;
  kj::Promise<runtime_error> start(const std::string& id) override;
  kj::Promise<runtime_error> run_detached(const std::string& id, const std::string& bundle,
                                          const std::string& pid_file,
                                          const std::string& console_socket,
                                          runc::spawn_stdio io) override;
  kj::Promise<runtime_error> exec(const std::string& id, const std::string& process_json_path,
                                  const std::string& pid_file, const std::string& console_socket,
                                  runc::spawn_stdio io) override;
  kj::Promise<runtime_error> kill(const std::string& id, int signal, bool all) override;
  kj::Promise<runtime_error> pause(const std::string& id) override;
  kj::Promise<runtime_error> resume(const std::string& id) override;
  kj::Promise<runtime_output> ps(const std::string& id) override;
  kj::Promise<runtime_error> update(const std::string& id,
                                    const std::string& resources_json_path) override;
  kj::Promise<runtime_error> checkpoint(const std::string& id, const std::string& image_path,
                                        bool leave_running, const std::string& work_path) override;
  kj::Promise<runtime_error> remove(const std::string& id, bool force) override;
  runtime_error remove_now(const std::string& id) override;
  // Polls for the container's state directory under the runtime's root (both
  // runc and crun keep ROOT/ID) until it is gone, for up to 10 s.
  kj::Maybe<kj::Promise<void>> released(const std::string& id) override;

 private:
  // Spawns now, resolves when the reaper has seen the invocation exit.
  kj::Promise<runtime_output> run(std::string operation, const std::vector<std::string>& args,
                                  runc::spawn_stdio io = {});
  kj::Promise<runtime_error> run_plain(std::string operation, const std::vector<std::string>& args,
                                       runc::spawn_stdio io = {});

  static runc::runtime_config without_log_dir(runc::runtime_config cfg) {
    cfg.log_dir.clear();
    return cfg;
  }

  runc::runc_client client_;
  // Deletes log to the system's temp dir, not the bundle: the delete of a
  // stopped container runs on after the shim has answered (task::remove),
  // while berthd removes the bundle.
  runc::runc_client deleter_;
  reaper& reaper_;
  kj::Timer& timer_;
};

}  // namespace berth::shim
