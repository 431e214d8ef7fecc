// Fuzz target runc_log: what the shim reads back from an OCI runtime
// (shim/runc/runc_client.*): the JSON log runc and crun write with
// `--log-format json` (one object per line, {"level","msg","time"}, mixed
// with plain stderr text), turned into the reason a failed call reports
// (runc_client::finish, reason_from_log), and `ps --format json` output
// (parse_ps_output).
//
// Input: byte 0 picks the wait status finish() is given (an exit code or a
// signal); the rest is the log file's text, and also the ps output.
// Refusals are fine: parse_ps_output's std::runtime_error. Findings: a
// crash, a sanitizer report, any exception from reading the log (the shim
// calls finish() for every runtime it reaps), a reason that does not read
// "<name> <operation> failed: ..." (or one given for a clean exit).
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "fuzz_temp_dir.hpp"
#include "shim/runc/runc_client.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::cerr << "fuzz_runc_log: " << what << "\n";
  std::abort();
}

// A wait status as waitpid reports it: exited with `code`, or killed by `sig`.
int wait_status(std::uint8_t b) {
  if (b & 0x80) return (b & 0x7f) % 64 + 1;  // WIFSIGNALED: the low 7 bits are the signal
  return (b & 0x7f) << 8;                    // WIFEXITED: the code in bits 8..15
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  int status = wait_status(data[0]);
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  (void)berth::runc::reason_from_log(text);
  try {
    auto pids = berth::runc::parse_ps_output(text);
    for (int p : pids)
      if (p <= 0) finding("parse_ps_output returned pid " + std::to_string(p));
  } catch (const std::runtime_error&) {
  }

  static berth::runc::runc_client client({.binary = "runc", .log_dir = berth::fuzz::process_dir()});
  berth::runc::invocation inv;
  inv.operation = "create";
  inv.log_path = berth::fuzz::process_dir() + "/runc.log";
  {
    std::ofstream out(inv.log_path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto reason = client.finish(inv, status);
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (clean != !reason.has_value()) finding("finish() disagrees with the wait status");
  if (reason && reason->rfind("runc create failed: ", 0) != 0)
    finding("the reason does not name the runtime and the call: " + *reason);
  return 0;
}
