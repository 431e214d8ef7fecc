// The standard streams of one container process, as the shim wires them:
//  - stdout/stderr: a pipe whose write end the process inherits (through
//    runc); the shim copies what it reads to the caller's FIFO or file and,
//    for the init process, to the task log with timestamps;
//  - stdin: a regular file is handed to the process as is; a FIFO is copied
//    through a pipe until its writer closes it or closeIo is called;
//  - terminal: runc sends the pty master over the console socket; the shim
//    copies master -> stdout path (+ log) and stdin path -> master;
//  - attach: new destinations replace the old ones (a write still pending on
//    an old one is cancelled) and a new stdin FIFO is fed in; its EOF only
//    detaches, since the process outlives any one client.
//  - a client never holds the process back: a destination whose reader is
//    gone or takes nothing for too long (client_output.hpp) is dropped, and
//    the task log goes on receiving everything.
#pragma once

#include <memory>
#include <string>

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/exception.h>

#include "shim/core/task_log.hpp"

namespace berth::shim {

struct stdio_paths {
  std::string in, out, err;  // absolute paths, or empty for /dev/null
  bool terminal = false;
  bool open_stdin = false;  // no stdin path: a pipe kept open for attach
};

class process_io {
 public:
  // Opens the caller's paths and creates the pipes. Throws std::runtime_error
  // naming the stream and path ("cannot open stdout /x/out: Permission denied").
  process_io(kj::LowLevelAsyncIoProvider& io, kj::UnixEventPort& port, stdio_paths paths,
             task_log* log);
  ~process_io();
  process_io(const process_io&) = delete;
  process_io& operator=(const process_io&) = delete;

  // The fds the runtime process gets as its stdin/stdout/stderr (-1 = /dev/null).
  int child_stdin() const { return child_in_; }
  int child_stdout() const { return child_out_; }
  int child_stderr() const { return child_err_; }

  // After the runtime was spawned: drop our copies of the child's ends (else
  // the pipes never reach EOF) and start copying.
  void start_copying();
  // The spawn failed: drop the child's ends and copy nothing.
  void abandon();

  // Terminal mode: the pty master received from the console socket.
  void attach_console(int master_fd);
  bool has_console() const { return console_fd_ >= 0; }
  // Sets the terminal's window size. Returns false without a terminal.
  bool resize(unsigned width, unsigned height);

  // Closes the process's stdin so it reads EOF.
  void close_stdin();

  // Reconnects the streams to `to` (empty paths keep what is there). Returns
  // whether input can still reach the process. Throws std::runtime_error as
  // the constructor does; on a throw nothing was changed.
  bool attach(const stdio_paths& to);

  // Resolves once stdout and stderr reached EOF (every writer closed them).
  kj::Promise<void> drained();

  const stdio_paths& paths() const { return paths_; }

 private:
  // Where one output stream goes. `generation` tells a failed write apart
  // from one that attach cancelled (whose target is already the new one).
  struct output_target {
    kj::Own<kj::AsyncOutputStream> stream;  // caller's FIFO/file, or null (none, or dropped)
    kj::Canceler pending;
    unsigned generation = 0;
  };

  kj::Promise<void> copy_output(kj::AsyncInputStream& from, const char* stream, output_target& to);
  kj::Promise<void> copy_stdin_fifo();
  void pump_finished();
  void send_eot();
  void replace(output_target& target, kj::Own<kj::AsyncOutputStream> stream);
  void open_destinations();

  kj::LowLevelAsyncIoProvider& io_;
  kj::UnixEventPort& port_;
  stdio_paths paths_;
  task_log* log_;

  int child_in_ = -1, child_out_ = -1, child_err_ = -1;
  int console_fd_ = -1;

  kj::Own<kj::AsyncInputStream> out_pipe_, err_pipe_;  // our read ends
  output_target out_dest_, err_dest_;
  int stdin_fifo_fd_ = -1;                     // caller's stdin FIFO
  bool stdin_attached_ = false;                // the FIFO came from attach: its EOF only detaches
  int pump_fd_ = -1;                           // the FIFO the stdin pump reads (owned by the pump)
  bool close_after_pump_ = false;              // closeIo came while the pump still had data
  kj::Own<kj::AsyncOutputStream> stdin_pipe_;  // our write end to the child
  kj::Own<kj::AsyncIoStream> console_;         // pty master

  kj::Maybe<kj::ForkedPromise<void>> drained_;
  kj::Promise<void> stdin_task_ = nullptr;
  kj::Canceler canceler_;
};

}  // namespace berth::shim
