#include "cli/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

namespace berth::cli {
namespace {

// What atexit restores if a destructor never runs (std::exit from a library,
// an uncaught exception): one terminal at a time is ever made raw.
struct saved_mode {
  int fd = -1;
  struct termios mode {};
};
saved_mode saved;

void restore_saved() {
  if (saved.fd >= 0) tcsetattr(saved.fd, TCSADRAIN, &saved.mode);
  saved.fd = -1;
}

}  // namespace

bool is_terminal(int fd) {
  return isatty(fd) == 1;
}

std::optional<window_size> terminal_size(int fd) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return std::nullopt;
  return window_size{ws.ws_col, ws.ws_row};
}

raw_terminal::raw_terminal(int fd) : fd_(fd) {
  struct termios mode {};
  if (!is_terminal(fd) || tcgetattr(fd, &mode) != 0) return;
  static bool registered = false;
  if (!registered) {
    std::atexit(restore_saved);
    registered = true;
  }
  saved = {fd, mode};
  cfmakeraw(&mode);
  if (tcsetattr(fd, TCSADRAIN, &mode) == 0) active_ = true;
}

raw_terminal::~raw_terminal() {
  restore();
}

void raw_terminal::restore() {
  if (!active_) return;
  restore_saved();
  active_ = false;
}

}  // namespace berth::cli
