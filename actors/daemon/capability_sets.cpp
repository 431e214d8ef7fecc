#include "actors/daemon/capability_sets.hpp"

#include <sys/prctl.h>

#include <stdexcept>

#include "schema/capability_names.hpp"

namespace berth {
namespace {

capability_mask bit(int number) {
  return capability_mask{1} << number;
}

capability_mask every_capability() {
  return (capability_mask{1} << kCapabilityCount) - 1;
}

[[noreturn]] void refuse(const char* field, const std::string& value, const std::string& why) {
  throw std::invalid_argument(std::string(field) + " \"" + value + "\": " + why);
}

// The names of one list as a set, and whether it says ALL.
struct named_set {
  capability_mask caps = 0;
  bool all = false;
};

named_set read_names(const char* field, const std::vector<std::string>& names) {
  named_set s;
  for (const auto& name : names) {
    if (is_all_capabilities(name)) {
      s.all = true;
    } else if (auto n = capability_number(name)) {
      s.caps |= bit(*n);
    } else {
      refuse(field, name, *capability_problem(name));
    }
  }
  return s;
}

}  // namespace

capability_mask default_capabilities() {
  static const capability_mask caps = [] {
    capability_mask m = 0;
    for (const char* name :
         {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
          "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"})
      m |= bit(*capability_number(name));
    return m;
  }();
  return caps;
}

capability_mask own_bounding_set() {
  capability_mask m = 0;
  for (int i = 0; i < kCapabilityCount; ++i)
    if (::prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1) m |= bit(i);
  return m;
}

capability_mask container_capabilities(bool privileged, const std::vector<std::string>& cap_add,
                                       const std::vector<std::string>& cap_drop,
                                       capability_mask bounding) {
  auto add = read_names("capAdd", cap_add);
  auto drop = read_names("capDrop", cap_drop);
  // A capability berthd does not hold cannot be given: runc would fail to
  // start the container with a message that does not say why.
  for (const auto& name : cap_add) {
    auto n = capability_number(name);
    if (n && !(bounding & bit(*n)))
      refuse("capAdd", name,
             std::string("berthd's own bounding set lacks ") + capability_name(*n) +
                 ", so no container can hold it");
  }
  bounding &= every_capability();
  if (add.all) return bounding & ~drop.caps;
  if (drop.all) return add.caps;
  capability_mask base = privileged ? bounding : default_capabilities();
  return (base & ~drop.caps) | add.caps;
}

std::vector<std::string> capability_names(capability_mask caps) {
  std::vector<std::string> names;
  for (int i = 0; i < kCapabilityCount; ++i)
    if (caps & bit(i)) names.emplace_back(capability_name(i));
  return names;
}

}  // namespace berth
