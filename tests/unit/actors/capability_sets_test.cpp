// The capability set of a container from --privileged, --cap-add and
// --cap-drop, against a bounding set given here (pure: no particular host).
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "actors/daemon/capability_sets.hpp"

using namespace berth;
using names = std::vector<std::string>;

namespace {

constexpr capability_mask kFull = (capability_mask{1} << 41) - 1;
constexpr int kChown = 0, kNetBindService = 10, kNetAdmin = 12, kSysModule = 16, kSysAdmin = 21;

capability_mask bit(int n) {
  return capability_mask{1} << n;
}

capability_mask caps(names add, names drop, bool privileged = false,
                     capability_mask bounding = kFull) {
  return container_capabilities(privileged, add, drop, bounding);
}

std::string refusal(names add, names drop, capability_mask bounding = kFull) {
  try {
    caps(add, drop, false, bounding);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("capabilities: the default set, and --privileged's", "[unit][capabilities]") {
  CHECK(caps({}, {}) == default_capabilities());
  CHECK(capability_names(default_capabilities()) ==
        names{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
              "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
              "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"});
  CHECK_FALSE(default_capabilities() & bit(kSysAdmin));
  // Privileged: all berthd holds, never more.
  CHECK(caps({}, {}, true) == kFull);
  CHECK(caps({}, {}, true, kFull & ~bit(kSysModule)) == (kFull & ~bit(kSysModule)));
  CHECK(caps({}, {"NET_ADMIN"}, true) == (kFull & ~bit(kNetAdmin)));
}

TEST_CASE("capabilities: --cap-add and --cap-drop as Docker applies them", "[unit][capabilities]") {
  CHECK(caps({"SYS_ADMIN"}, {}) == (default_capabilities() | bit(kSysAdmin)));
  CHECK(caps({}, {"chown"}) == (default_capabilities() & ~bit(kChown)));
  CHECK(caps({}, {"ALL"}) == 0);
  CHECK(caps({"CAP_NET_BIND_SERVICE"}, {"all"}) == bit(kNetBindService));
  CHECK(caps({"ALL"}, {}) == kFull);
  CHECK(caps({"ALL"}, {"SYS_ADMIN"}) == (kFull & ~bit(kSysAdmin)));
  CHECK(caps({"all"}, {"all"}) == kFull);
  // Named in both: kept, as Docker drops first and adds after.
  CHECK(caps({"NET_ADMIN"}, {"NET_ADMIN"}) == (default_capabilities() | bit(kNetAdmin)));
  // ALL in --cap-add: berthd's bounding set, not every name in the table.
  CHECK(caps({"ALL"}, {}, false, bit(kChown) | bit(kSysAdmin)) == (bit(kChown) | bit(kSysAdmin)));
  // Dropping what berthd does not hold is no error.
  CHECK(caps({}, {"SYS_MODULE"}, false, kFull & ~bit(kSysModule)) == default_capabilities());
}

TEST_CASE("capabilities: what is refused, naming the field and the value", "[unit][capabilities]") {
  CHECK(refusal({"CAP_BOGUS"}, {}) ==
        "capAdd \"CAP_BOGUS\": not a Linux capability (a name from capabilities(7), as NET_ADMIN "
        "or CAP_NET_ADMIN, or ALL)");
  CHECK_THAT(refusal({}, {"NET_ADMN"}), Catch::StartsWith("capDrop \"NET_ADMN\": not a Linux"));
  CHECK(refusal({"sys_module"}, {}, kFull & ~bit(kSysModule)) ==
        "capAdd \"sys_module\": berthd's own bounding set lacks CAP_SYS_MODULE, so no container "
        "can hold it");
}
