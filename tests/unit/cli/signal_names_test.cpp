// Signal names as kill(1) and ctr accept them, and back.
#include <catch2/catch.hpp>

#include <csignal>

#include "cli/signal_names.hpp"

using namespace berth::cli;

TEST_CASE("names with and without SIG, in any case, and numbers", "[cli][signals]") {
  CHECK(parse_signal("SIGTERM") == SIGTERM);
  CHECK(parse_signal("TERM") == SIGTERM);
  CHECK(parse_signal("term") == SIGTERM);
  CHECK(parse_signal("SigKill") == SIGKILL);
  CHECK(parse_signal("9") == 9);
  CHECK(parse_signal("1") == SIGHUP);
  CHECK(parse_signal("SIGWINCH") == SIGWINCH);
  CHECK(parse_signal("IOT") == SIGABRT);
  CHECK(parse_signal("SIGCLD") == SIGCHLD);
}

TEST_CASE("real-time signals by offset", "[cli][signals]") {
  CHECK(parse_signal("SIGRTMIN") == 32);
  CHECK(parse_signal("RTMIN+3") == 35);
  CHECK(parse_signal("SIGRTMAX") == 64);
  CHECK(parse_signal("SIGRTMAX-1") == 63);
  CHECK_FALSE(parse_signal("RTMIN+40"));
  CHECK_FALSE(parse_signal("RTMIN-1"));
  CHECK_FALSE(parse_signal("RTMIN+"));
}

TEST_CASE("what is not a signal", "[cli][signals]") {
  CHECK_FALSE(parse_signal(""));
  CHECK_FALSE(parse_signal("SIGFOO"));
  CHECK_FALSE(parse_signal("SIG"));
  CHECK_FALSE(parse_signal("0"));
  CHECK_FALSE(parse_signal("65"));
  CHECK_FALSE(parse_signal("-9"));
  CHECK_FALSE(parse_signal("9x"));
}

TEST_CASE("numbers back to names", "[cli][signals]") {
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGKILL) == "SIGKILL");
  CHECK(signal_name(SIGABRT) == "SIGABRT");  // not its alias IOT
  CHECK(signal_name(SIGCHLD) == "SIGCHLD");
  CHECK(signal_name(34) == "SIGRTMIN+2");
  CHECK(signal_name(64) == "SIGRTMAX");
  for (int signo = 1; signo <= 64; ++signo) {
    INFO(signo);
    CHECK(parse_signal(signal_name(signo)) == signo);
  }
}
