#include "tests/unit/shim/core/fake_host.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>

namespace berth::test {

fake_runtime::~fake_runtime() = default;

kj::Promise<shim::runtime_error> fake_runtime::answer(std::string verb,
                                                      std::vector<std::string> args,
                                                      std::string pid_file) {
  std::string line = "runtime " + verb;
  for (const auto& a : args) line += " " + a;
  journal_.push_back(line);
  calls.push_back({verb, std::move(args)});
  if (!held.count(verb)) return outcome(verb, pid_file);
  auto paf = kj::newPromiseAndFulfiller<void>();
  waiting_[verb] = {kj::mv(paf.fulfiller)};
  // Decided on release, so a test can change the answer while the call waits.
  return paf.promise.then([this, verb, pid_file]() { return outcome(verb, pid_file); });
}

shim::runtime_error fake_runtime::outcome(const std::string& verb, const std::string& pid_file) {
  shim::runtime_error err;
  if (auto it = failures.find(verb); it != failures.end()) err = it->second;
  if (!pid_file.empty() && write_pid && !err) {
    std::ofstream(pid_file) << next_pid;
  }
  return err;
}

bool fake_runtime::release(const std::string& verb) {
  auto it = waiting_.find(verb);
  if (it == waiting_.end()) return false;
  auto fulfiller = kj::mv(it->second.fulfiller);
  waiting_.erase(it);
  held.erase(verb);
  fulfiller->fulfill();
  return true;
}

kj::Maybe<kj::Promise<void>> fake_runtime::released(const std::string& id) {
  if (!occupied.count(id)) return nullptr;
  journal_.push_back("runtime waits for " + id);
  auto paf = kj::newPromiseAndFulfiller<void>();
  vacating_[id] = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

void fake_runtime::vacate(const std::string& id) {
  occupied.erase(id);
  if (auto it = vacating_.find(id); it != vacating_.end()) {
    auto fulfiller = kj::mv(it->second);
    vacating_.erase(it);
    fulfiller->fulfill();
  }
}

std::vector<runtime_call> fake_runtime::calls_of(const std::string& verb) const {
  std::vector<runtime_call> out;
  for (const auto& c : calls) {
    if (c.op == verb) out.push_back(c);
  }
  return out;
}

kj::Promise<shim::runtime_error> fake_runtime::create(const std::string& id,
                                                      const std::string& bundle,
                                                      const std::string& pid_file,
                                                      const std::string& console_socket,
                                                      runc::spawn_stdio) {
  return answer("create", {id, bundle, pid_file, console_socket}, pid_file);
}

kj::Promise<shim::runtime_error> fake_runtime::start(const std::string& id) {
  return answer("start", {id});
}

kj::Promise<shim::runtime_error> fake_runtime::run_detached(const std::string& id,
                                                            const std::string& bundle,
                                                            const std::string& pid_file,
                                                            const std::string& console_socket,
                                                            runc::spawn_stdio) {
  return answer("run", {id, bundle, pid_file, console_socket}, pid_file);
}

kj::Promise<shim::runtime_error> fake_runtime::exec(const std::string& id,
                                                    const std::string& process_json_path,
                                                    const std::string& pid_file,
                                                    const std::string& console_socket,
                                                    runc::spawn_stdio) {
  std::ifstream f(process_json_path);
  exec_process_json.assign(std::istreambuf_iterator<char>(f), {});
  return answer("exec", {id, process_json_path, pid_file, console_socket}, pid_file);
}

kj::Promise<shim::runtime_error> fake_runtime::kill(const std::string& id, int signal, bool all) {
  return answer("kill", {id, std::to_string(signal), all ? "all" : "one"});
}

kj::Promise<shim::runtime_error> fake_runtime::pause(const std::string& id) {
  return answer("pause", {id});
}

kj::Promise<shim::runtime_error> fake_runtime::resume(const std::string& id) {
  return answer("resume", {id});
}

kj::Promise<shim::runtime_output> fake_runtime::ps(const std::string& id) {
  return answer("ps", {id}).then([this](shim::runtime_error err) {
    return shim::runtime_output{err, err ? "" : ps_text};
  });
}

kj::Promise<shim::runtime_error> fake_runtime::update(const std::string& id,
                                                      const std::string& resources_json_path) {
  return answer("update", {id, resources_json_path});
}

kj::Promise<shim::runtime_error> fake_runtime::checkpoint(const std::string& id,
                                                          const std::string& image_path,
                                                          bool leave_running,
                                                          const std::string& work_path) {
  return answer("checkpoint",
                {id, image_path, leave_running ? "leave-running" : "exit", work_path});
}

kj::Promise<shim::runtime_error> fake_runtime::remove(const std::string& id, bool force) {
  return answer("delete", {id, force ? "force" : "plain"});
}

shim::runtime_error fake_runtime::remove_now(const std::string& id) {
  journal_.push_back("runtime delete " + id + " force now");
  calls.push_back({"delete-now", {id}});
  return remove_now_answer;
}

size_t fake_mounter::mounted_on(const std::string& target) const {
  auto it = table.find(target);
  return it == table.end() ? 0 : it->second.size();
}

int fake_mounter::mount(const std::string& source, const std::string& target,
                        const std::string& type, unsigned long flags, const std::string& data) {
  journal_.push_back("mount " + type + " " + source + " on " + target);
  if (auto it = failures.find(source); it != failures.end()) return it->second;
  table[target].push_back({source, type, flags, data});
  return 0;
}

int fake_mounter::unmount(const std::string& target) {
  auto it = table.find(target);
  if (it == table.end() || it->second.empty()) return EINVAL;  // as umount2 on a plain directory
  journal_.push_back("unmount " + target);
  it->second.pop_back();
  if (it->second.empty()) table.erase(it);
  return 0;
}

int fake_signaller::signal(pid_t pid, int signal) {
  journal_.push_back("signal " + std::to_string(pid) + " " + std::to_string(signal));
  sent.emplace_back(pid, signal);
  return answer;
}

}  // namespace berth::test
