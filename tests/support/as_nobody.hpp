// Running a piece of a test as an unprivileged host user: a forked child
// that drops to nobody:nogroup (no other group), runs `body` and hands its
// result back through a pipe. For tests of what berth keeps from host users.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace berth::test {

inline constexpr uid_t kNobody = 65534;
inline constexpr gid_t kNogroup = 65534;

// What `body` returned in the child, or "!cannot become nobody". The child
// ends with _exit, so nothing of the parent's runs twice.
std::string run_as_nobody(const std::function<std::string()>& body);

}  // namespace berth::test
