#include "shim/core/runc_runtime.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <exception>

namespace berth::shim {

using runc::runc_client;

kj::Promise<runtime_output> runc_runtime::run(std::string operation,
                                              const std::vector<std::string>& args,
                                              runc::spawn_stdio io) {
  runc::runc_client& client = operation == "delete" ? deleter_ : client_;
  runc::invocation inv;
  try {
    inv = client.spawn(std::move(operation), args, io);
  } catch (const std::exception& e) {
    // The runtime did not start (a missing binary, a bad log dir): say so as its failure.
    return runtime_output{e.what(), {}};
  }
  // Watched before returning to the loop, so the exit cannot be missed.
  pid_t pid = inv.pid;
  auto owned = kj::heap<runc::invocation>(std::move(inv));
  return reaper_.watch(pid).then([&client, owned = kj::mv(owned)](int status) mutable {
    runtime_output out;
    if (owned->stdout_fd >= 0) out.text = runc_client::read_captured(*owned);
    out.error = client.finish(*owned, status);
    return out;
  });
}

kj::Promise<runtime_error> runc_runtime::run_plain(std::string operation,
                                                   const std::vector<std::string>& args,
                                                   runc::spawn_stdio io) {
  return run(std::move(operation), args, io).then([](runtime_output out) { return out.error; });
}

kj::Promise<runtime_error> runc_runtime::create(const std::string& id, const std::string& bundle,
                                                const std::string& pid_file,
                                                const std::string& console_socket,
                                                runc::spawn_stdio io) {
  return run_plain("create", runc_client::create_args(id, bundle, pid_file, console_socket), io);
}

kj::Promise<runtime_error> runc_runtime::start(const std::string& id) {
  return run_plain("start", runc_client::start_args(id));
}

kj::Promise<runtime_error> runc_runtime::run_detached(const std::string& id,
                                                      const std::string& bundle,
                                                      const std::string& pid_file,
                                                      const std::string& console_socket,
                                                      runc::spawn_stdio io) {
  return run_plain("run", runc_client::run_detached_args(id, bundle, pid_file, console_socket), io);
}

kj::Promise<runtime_error> runc_runtime::exec(const std::string& id,
                                              const std::string& process_json_path,
                                              const std::string& pid_file,
                                              const std::string& console_socket,
                                              runc::spawn_stdio io) {
  return run_plain(
      "exec", runc_client::exec_args(id, process_json_path, pid_file, console_socket, true), io);
}

kj::Promise<runtime_error> runc_runtime::kill(const std::string& id, int signal, bool all) {
  return run_plain("kill", runc_client::kill_args(id, signal, all));
}

kj::Promise<runtime_error> runc_runtime::pause(const std::string& id) {
  return run_plain("pause", runc_client::pause_args(id));
}

kj::Promise<runtime_error> runc_runtime::resume(const std::string& id) {
  return run_plain("resume", runc_client::resume_args(id));
}

kj::Promise<runtime_output> runc_runtime::ps(const std::string& id) {
  runc::spawn_stdio io;
  io.capture_stdout = true;
  return run("ps", runc_client::ps_args(id), io);
}

kj::Promise<runtime_error> runc_runtime::update(const std::string& id,
                                                const std::string& resources_json_path) {
  return run_plain("update", runc_client::update_args(id, resources_json_path));
}

kj::Promise<runtime_error> runc_runtime::checkpoint(const std::string& id,
                                                    const std::string& image_path,
                                                    bool leave_running,
                                                    const std::string& work_path) {
  return run_plain("checkpoint",
                   runc_client::checkpoint_args(id, image_path, leave_running, work_path));
}

kj::Promise<runtime_error> runc_runtime::remove(const std::string& id, bool force) {
  return run_plain("delete", runc_client::delete_args(id, force));
}

runtime_error runc_runtime::remove_now(const std::string& id) {
  return client_.run_sync("delete", runc_client::delete_args(id, true));
}

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Looks again every 2 ms while `path` (seen a moment ago) is there.
kj::Promise<void> poll_until_gone(kj::Timer& timer, std::string path, kj::TimePoint deadline) {
  return timer.afterDelay(2 * kj::MILLISECONDS)
      .then([&timer, path = std::move(path), deadline]() mutable -> kj::Promise<void> {
        if (!exists(path)) return kj::READY_NOW;
        if (timer.now() >= deadline) {
          spdlog::warn("{} is still there after 10 s; creating anyway", path);
          return kj::READY_NOW;
        }
        return poll_until_gone(timer, std::move(path), deadline);
      });
}

}  // namespace

kj::Maybe<kj::Promise<void>> runc_runtime::released(const std::string& id) {
  const auto& root = client_.config().root;
  if (root.empty()) return nullptr;  // the runtime's default root: not berth's to watch
  std::string path = root + "/" + id;
  if (!exists(path)) return nullptr;
  spdlog::info("{} is still there (a task of that id being deleted): waiting", path);
  return poll_until_gone(timer_, std::move(path), timer_.now() + 10 * kj::SECONDS);
}

}  // namespace berth::shim
