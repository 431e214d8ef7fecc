// Runs the real `berth` binary the way a person or a script does: argv, an
// optional stdin, stdout and stderr captured separately, the exit code, and
// a deadline after which it is killed (a hung CLI fails the test, it does
// not hang ctest). Also a pseudo-terminal session for `run -t`.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace berth::test {

struct berth_result {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
  bool timed_out = false;
};

// <build>/cli/berth, found through $BERTH_BUILD_DIR (set by ctest).
std::string berth_binary();

struct berth_call {
  berth_call(std::vector<std::string> a, std::string addr)
      : args(std::move(a)), address(std::move(addr)) {}
  std::vector<std::string> args;
  std::string address;  // passed as --address when set
  std::string input;    // written to stdin, then stdin is closed
  bool close_stdin = true;
  // When stdout first contains `signal_when`, berth gets `signal` (to see
  // it forwarded to the task).
  std::string signal_when;
  int signal = 0;
  std::chrono::milliseconds deadline = std::chrono::seconds(60);
};

berth_result run_berth(const berth_call& call);

// berth running in the background (events, a long attached run): its
// stdout is read on demand.
class background_berth {
 public:
  background_berth(const std::string& address, std::vector<std::string> args);
  ~background_berth();  // SIGKILL if still running
  background_berth(const background_berth&) = delete;
  background_berth& operator=(const background_berth&) = delete;

  // Reads stdout until it contains `text` or the deadline passes.
  bool read_until(const std::string& text,
                  std::chrono::milliseconds deadline = std::chrono::seconds(20));
  const std::string& out() const { return out_; }
  void signal(int signo);
  // Waits for the exit (reading the rest of stdout); the exit code.
  int wait(std::chrono::milliseconds deadline = std::chrono::seconds(20));

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
};

// Shorthand (run_berth_at): `berth --address ADDRESS args…` with empty stdin.
berth_result run_berth_at(const std::string& address, std::vector<std::string> args);

// A session on a pseudo-terminal: berth's stdin, stdout and stderr are the
// pty's slave; `typed` is written once `wait_for` appeared in the output
// (or after a moment when empty); returns everything read from the master.
struct pty_session {
  std::vector<std::string> args;
  std::string address;
  std::string wait_for;
  std::string typed;
  std::chrono::milliseconds deadline = std::chrono::seconds(60);
};
berth_result run_berth_on_pty(const pty_session& session);

}  // namespace berth::test
