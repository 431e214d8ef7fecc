// Runs one short command (`berth-shim start` or `delete`) to completion and
// captures its output. It blocks, so only a detached actor (its own thread)
// calls it; see runtime_actor.cpp.
#pragma once

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace berth {

struct command_output {
  int exit_code = -1;  // the exit status, or 128 + signal
  std::string out;
  std::string err;
  // Set when the command could not run or did not finish in time; the
  // fields above are then meaningless.
  std::string failure;
  bool timed_out = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_output& x) {
  return f(caf::meta::type_name("berth.command_output"), x.exit_code, x.out, x.err, x.failure,
           x.timed_out);
}

// Spawns argv[0] (a path; PATH is searched when it has no slash) with stdin
// from /dev/null, an empty signal mask and default signal handlers, waits for
// it and reads stdout and stderr until both close. A child still running at
// `timeout` is killed (SIGKILL) and reaped. Waits for its own pid only, so it
// takes no exit from anybody else and needs no SIGCHLD handling.
command_output run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace berth
