// Signal names and numbers, as `kill -s` and ctr accept them: "SIGTERM",
// "TERM", "term", "15", "SIGRTMIN+3".
#pragma once

#include <optional>
#include <string>

namespace berth::cli {

// The signal number for `text`, or nullopt when it names no Linux signal.
std::optional<int> parse_signal(const std::string& text);

// "SIGTERM" for 15; "SIGRTMIN+3" for real-time signals; "SIG<n>" otherwise.
std::string signal_name(int signo);

}  // namespace berth::cli
