// Attached I/O, as ctr's cio does it: the CLI makes FIFOs in a private
// directory (mode 0700), hands their paths to the daemon in `Stdio`, and
// copies between them and its own stdin/stdout/stderr.
//
// Opening cannot deadlock whatever the shim does first: our output ends are
// opened O_RDONLY|O_NONBLOCK and our stdin end O_RDWR, neither of which
// waits for a peer (the shim opens outputs O_RDWR and stdin O_RDONLY|
// O_NONBLOCK, shim/core/process_io.cpp). The shim keeps its output ends open
// until the process is deleted, so end-of-output is not EOF: once wait()
// returns (the shim releases waiters only after the output was drained into
// the FIFOs) finish() reads what is buffered and stops.
#pragma once

#include <string>
#include <thread>

#include "schema/types.capnp.h"

namespace berth::cli {

class attached_io {
 public:
  // `terminal`: one stream (the pty), no stderr FIFO.
  explicit attached_io(bool terminal);
  ~attached_io();
  attached_io(const attached_io&) = delete;
  attached_io& operator=(const attached_io&) = delete;

  // Sets stdin, stdout, stderr and terminal of a request's Stdio.
  void fill(wire::Stdio::Builder stdio) const;

  // Starts copying the output FIFOs to our stdout and stderr. Safe before
  // the shim has opened them: a FIFO that never had a writer reports nothing.
  void start_output();

  // Starts copying our stdin into the stdin FIFO. Call once the shim has
  // opened its end (the create call returned): closing our end before that
  // would leave the shim waiting for a writer forever.
  void start_input();

  // Becomes readable once our stdin reached EOF and the FIFO was closed,
  // so the caller can also send closeIo (a second, explicit EOF).
  int stdin_closed_fd() const { return stdin_closed_[0]; }

  // After the process exited: copies what is still buffered, stops the
  // copiers and waits for them.
  void finish();

 private:
  void copy_output(int fifo, int destination);
  void copy_input();

  bool terminal_;
  std::string dir_;
  int stdin_fifo_ = -1, stdout_fifo_ = -1, stderr_fifo_ = -1;
  int stop_[2] = {-1, -1};          // written once: the copiers stop
  int stdin_closed_[2] = {-1, -1};  // written once: our stdin hit EOF
  std::thread out_thread_, err_thread_, in_thread_;
  bool finished_ = false;
};

}  // namespace berth::cli
