#include "actors/daemon/host_devices.hpp"

#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include "actors/errors.hpp"
#include "schema/file_kind.hpp"

namespace berth {
namespace {

caf::error refuse(const device_mapping& m, const std::string& container, const std::string& why) {
  return make_error(errc::invalid_argument, "invalid device \"" + m.host_path +
                                                "\" for container " + container + ": " + why);
}

}  // namespace

caf::expected<host_device> device_from_stat(const device_mapping& given, const struct stat& st,
                                            const std::string& container) {
  auto m = with_defaults(given);
  if (auto why = device_mapping_problem(m))
    return make_error(errc::invalid_argument,
                      "invalid device for container " + container + ": " + *why);
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    return refuse(m, container,
                  std::string("must be a character or block device on the host; it is ") +
                      file_kind(st.st_mode));
  host_device d;
  d.path = m.container_path;
  // One character, assigned as such: GCC 12 warns (-Wrestrict, wrongly) on
  // assigning either of two literals here.
  d.type.assign(1, S_ISCHR(st.st_mode) ? 'c' : 'b');
  d.major = static_cast<std::int64_t>(major(st.st_rdev));
  d.minor = static_cast<std::int64_t>(minor(st.st_rdev));
  d.file_mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  d.uid = st.st_uid;
  d.gid = st.st_gid;
  d.access = m.permissions;
  return d;
}

caf::expected<host_device> find_host_device(const device_mapping& given,
                                            const std::string& container) {
  auto m = with_defaults(given);
  if (auto why = device_mapping_problem(m))
    return make_error(errc::invalid_argument,
                      "invalid device for container " + container + ": " + *why);
  struct stat st {};
  // stat, not open: a device is never opened here, and a FIFO or a regular
  // file is only looked at. A link is followed to what it names, which must
  // itself be a device (as /dev/disk/by-id/… are links to one).
  if (::stat(m.host_path.c_str(), &st) != 0) {
    int err = errno;
    return refuse(m, container,
                  err == ENOENT
                      ? std::string("no such device on the host")
                      : std::string("cannot be looked up on the host: ") + std::strerror(err));
  }
  return device_from_stat(m, st, container);
}

}  // namespace berth
