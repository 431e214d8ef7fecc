#include "schema/capability_names.hpp"

#include <cctype>

namespace berth {
namespace {

// Indexed by capability number (linux/capability.h).
constexpr const char* kNames[kCapabilityCount] = {"CAP_CHOWN",
                                                  "CAP_DAC_OVERRIDE",
                                                  "CAP_DAC_READ_SEARCH",
                                                  "CAP_FOWNER",
                                                  "CAP_FSETID",
                                                  "CAP_KILL",
                                                  "CAP_SETGID",
                                                  "CAP_SETUID",
                                                  "CAP_SETPCAP",
                                                  "CAP_LINUX_IMMUTABLE",
                                                  "CAP_NET_BIND_SERVICE",
                                                  "CAP_NET_BROADCAST",
                                                  "CAP_NET_ADMIN",
                                                  "CAP_NET_RAW",
                                                  "CAP_IPC_LOCK",
                                                  "CAP_IPC_OWNER",
                                                  "CAP_SYS_MODULE",
                                                  "CAP_SYS_RAWIO",
                                                  "CAP_SYS_CHROOT",
                                                  "CAP_SYS_PTRACE",
                                                  "CAP_SYS_PACCT",
                                                  "CAP_SYS_ADMIN",
                                                  "CAP_SYS_BOOT",
                                                  "CAP_SYS_NICE",
                                                  "CAP_SYS_RESOURCE",
                                                  "CAP_SYS_TIME",
                                                  "CAP_SYS_TTY_CONFIG",
                                                  "CAP_MKNOD",
                                                  "CAP_LEASE",
                                                  "CAP_AUDIT_WRITE",
                                                  "CAP_AUDIT_CONTROL",
                                                  "CAP_SETFCAP",
                                                  "CAP_MAC_OVERRIDE",
                                                  "CAP_MAC_ADMIN",
                                                  "CAP_SYSLOG",
                                                  "CAP_WAKE_ALARM",
                                                  "CAP_BLOCK_SUSPEND",
                                                  "CAP_AUDIT_READ",
                                                  "CAP_PERFMON",
                                                  "CAP_BPF",
                                                  "CAP_CHECKPOINT_RESTORE"};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

const char* capability_name(int number) {
  return number >= 0 && number < kCapabilityCount ? kNames[number] : nullptr;
}

std::optional<int> capability_number(std::string_view text) {
  // "CAP_X" or "X": compare without the prefix, so "cap_chown" and "chown" match.
  if (text.size() > 4 && equal_ignoring_case(text.substr(0, 4), "CAP_")) text.remove_prefix(4);
  for (int i = 0; i < kCapabilityCount; ++i)
    if (equal_ignoring_case(text, std::string_view(kNames[i]).substr(4))) return i;
  return std::nullopt;
}

bool is_all_capabilities(std::string_view text) {
  return equal_ignoring_case(text, "ALL");
}

std::optional<std::string> capability_problem(std::string_view text) {
  if (is_all_capabilities(text) || capability_number(text)) return std::nullopt;
  return "not a Linux capability (a name from capabilities(7), as NET_ADMIN or CAP_NET_ADMIN, or "
         "ALL)";
}

}  // namespace berth
