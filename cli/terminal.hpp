// The user's terminal during `run -t` / `start -t` / `exec -t`: raw mode so
// every key (Ctrl-C included) goes to the container's pty, and the window
// size to hand to resizePty. The mode is restored by the destructor and, as
// a last resort, by an atexit handler, so no exit path leaves the terminal
// raw.
#pragma once

#include <termios.h>

#include <cstdint>
#include <optional>

namespace berth::cli {

struct window_size {
  uint32_t columns;
  uint32_t rows;
};

bool is_terminal(int fd);

// The size of the terminal on `fd`, or nullopt when `fd` is not one.
std::optional<window_size> terminal_size(int fd);

class raw_terminal {
 public:
  // Switches `fd` to raw mode when it is a terminal; does nothing otherwise.
  explicit raw_terminal(int fd);
  ~raw_terminal();
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;

  bool active() const { return active_; }
  void restore();

 private:
  int fd_;
  bool active_ = false;
};

}  // namespace berth::cli
