// embed-berth: a program of its own that embeds berth's actors in its CAF
// actor system, built against an installed berth (find_package(berth)).
// It imports an image archive, runs one container from it with typed
// messages, prints what the container wrote and how it exited, and cleans
// up: the task, the container, then berth's actors.
//
//   embed-berth ROOT STATE IMAGE.tar
//
// ROOT and STATE are berth's directories (give it throwaway ones: the
// imported image stays in ROOT). Needs root and runc on PATH.
#include <berth/berth.hpp>

#include <signal.h>
#include <stdlib.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr auto kTimeout = std::chrono::seconds(60);
const std::string kNamespace = "default";
const std::string kId = "embed-example";

// A request berth's actors refused, with berth's error code and message.
struct request_failed : std::runtime_error {
  berth::errc code;
  explicit request_failed(const caf::error& e)
      : std::runtime_error(berth::error_message(e)), code(berth::error_code(e)) {}
};

// Sends one typed request and waits for its reply; berth's error becomes an
// exception. (An actor of the program's own would use request().then().)
template <class Reply, class Handle, class... Ts>
Reply ask(caf::scoped_actor& self, const Handle& to, Ts&&... xs) {
  std::optional<Reply> reply;
  caf::error err;
  self->request(to, kTimeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { reply = std::move(r); }, [&](caf::error& e) { err = std::move(e); });
  if (!reply) throw request_failed(err);
  return std::move(*reply);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Import, create, start, wait. True when the container exited with 0.
bool run_container(caf::scoped_actor& self, const berth::berth_system& b,
                   const std::string& archive, const std::filesystem::path& out_dir) {
  berth::import_request import;
  import.ns = kNamespace;
  import.archive_path = archive;
  auto images = ask<std::vector<berth::image_record>>(self, b.images(),
                                                      berth::img_import_atom::value, import);
  if (images.empty()) throw std::runtime_error("the archive " + archive + " holds no image");
  std::cout << "imported " << images.front().name << "\n";

  // A container is metadata only: image, process, options. Nothing runs yet.
  berth::container_create create;
  create.ns = kNamespace;
  create.id = kId;
  create.image = images.front().name;
  create.options.args = {"sh", "-c", "echo \"hello from $(hostname), inside an embedded berth\""};
  ask<berth::container_record>(self, b.registry(), create);
  std::cout << "created container " << kId << "\n";

  // A task is two steps, as in containerd: create (a shim, `runc create`),
  // then start. The shim writes the process's stdout and stderr to files.
  berth::task_create task;
  task.ns = kNamespace;
  task.id = kId;
  task.stdio.out = out_dir / "stdout";
  task.stdio.err = out_dir / "stderr";
  auto handle = ask<berth::task_handle>(self, b.registry(), task);
  auto pid = ask<std::uint32_t>(self, handle.task, berth::task_start{});
  std::cout << "started task " << kId << " (pid " << pid << ")\n";

  // The reply comes once the process exited and its output is written.
  auto exit = ask<berth::exit_status>(self, handle.task, berth::task_wait{});
  std::cout << "container output: " << read_file(out_dir / "stdout");
  auto err = read_file(out_dir / "stderr");
  if (!err.empty()) std::cout << "container errors: " << err;
  std::cout << "exit status " << exit.code << "\n";
  return exit.code == 0 && exit.signal == 0;
}

// Deletes whatever of the task and the container exists, so it also cleans
// up after a run that failed half-way. True when nothing was left behind.
bool clean_up(caf::scoped_actor& self, const berth::berth_system& b) {
  bool clean = true;
  auto step = [&](const char* what, auto&& f) {
    try {
      f();
      std::cout << what << "\n";
    } catch (const request_failed& e) {
      if (e.code == berth::errc::not_found) return;
      std::cerr << "embed-berth: " << e.what() << "\n";
      clean = false;
    }
  };
  step("deleted task", [&] {
    auto handle =
        ask<berth::task_handle>(self, b.registry(), berth::get_task_atom::value, kNamespace, kId);
    // force: a run cut short may have left the process running.
    ask<berth::deleted_process>(self, handle.task, berth::task_delete{"", true});
  });
  step("deleted container", [&] {
    ask<berth::container_record>(self, b.registry(), berth::del_cont_atom::value, kNamespace, kId);
  });
  return clean;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: embed-berth ROOT STATE IMAGE.tar\n";
    return 2;
  }
  // berth logs through spdlog's default logger (stdout unless told
  // otherwise); this program keeps its stdout for its own lines.
  spdlog::set_default_logger(spdlog::stderr_color_mt("berth"));
  // A shim that goes away while berth writes to its socket must not kill the
  // program with SIGPIPE (berthd ignores it too).
  ::signal(SIGPIPE, SIG_IGN);
  // berth's message types must be announced before the actor system starts.
  caf::actor_system_config cfg;
  berth::add_berth_types(cfg);
  caf::actor_system sys{cfg};
  // The thread that carries berth's Cap'n Proto traffic to its shims.
  auto io = std::make_shared<berth::io_thread>();

  berth::berth_config config;
  config.root = argv[1];
  config.state = argv[2];
  // runc and crun, run by the shim installed with this berth.
  config.runtimes = berth::default_runtimes(BERTH_SHIM_BINARY, config.state);

  std::string tmpl = (std::filesystem::temp_directory_path() / "embed-berth.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    std::cerr << "embed-berth: cannot create a directory for the container's output\n";
    return 1;
  }
  const std::filesystem::path out_dir = tmpl;

  bool ok = false;
  berth::berth_system b;
  try {
    // Spawns berth's supervisor and actors; returns once the registry serves.
    b = berth::start_berth(sys, io, config);
    caf::scoped_actor self{sys};
    try {
      ok = run_container(self, b, argv[3], out_dir);
    } catch (const std::exception& e) {
      std::cerr << "embed-berth: " << e.what() << "\n";
    }
    if (!clean_up(self, b)) ok = false;
  } catch (const std::exception& e) {
    std::cerr << "embed-berth: " << e.what() << "\n";
  }
  berth::stop_berth(sys, b);
  std::filesystem::remove_all(out_dir);
  return ok ? 0 : 1;
}
