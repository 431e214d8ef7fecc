// Capability names as --cap-add and --cap-drop take them, on both sides of
// the wire.
#include <catch2/catch.hpp>

#include <string>

#include "schema/capability_names.hpp"

using namespace berth;

TEST_CASE("capability names: any case, with or without CAP_", "[unit][capabilities]") {
  for (const char* name : {"CAP_NET_ADMIN", "NET_ADMIN", "net_admin", "cap_net_admin", "Net_Admin"})
    CHECK(capability_number(name) == 12);
  CHECK(capability_number("CHOWN") == 0);
  CHECK(capability_number("CAP_CHECKPOINT_RESTORE") == 40);
  CHECK(capability_name(21) == std::string("CAP_SYS_ADMIN"));
  CHECK(capability_name(kCapabilityCount) == nullptr);
  CHECK(capability_name(-1) == nullptr);
  // Every name in the table reads back to its own number.
  for (int i = 0; i < kCapabilityCount; ++i) CHECK(capability_number(capability_name(i)) == i);
}

TEST_CASE("capability names: ALL, and what is not a capability", "[unit][capabilities]") {
  CHECK(is_all_capabilities("ALL"));
  CHECK(is_all_capabilities("all"));
  CHECK_FALSE(capability_number("ALL"));
  CHECK_FALSE(capability_problem("all"));
  CHECK_FALSE(capability_problem("sys_ptrace"));
  for (const char* bad :
       {"", "CAP_", "BOGUS", "CAP_BOGUS", "CAP_CAP_CHOWN", "CHOWN ", "0", "CAP_ALL"}) {
    INFO(bad);
    CHECK_FALSE(capability_number(bad));
    CHECK(capability_problem(bad) ==
          "not a Linux capability (a name from capabilities(7), as NET_ADMIN or CAP_NET_ADMIN, or "
          "ALL)");
  }
}
