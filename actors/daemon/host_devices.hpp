// The host devices a container is given (--device): each path a client names
// looked up on the host — it must be a character or block device there —
// and turned into what config.json needs: a node runc creates inside
// (linux.devices) and a rule of the device cgroup that allows it
// (linux.resources.devices). berthd only stats the path (following links to
// the device they name); it never opens it, so a FIFO or a file on a hung
// mount is never read, and anything that is not a device is refused by name.
#pragma once

#include <sys/stat.h>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

#include "schema/device_mapping.hpp"

namespace berth {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_mapping& x) {
  return f(caf::meta::type_name("berth.device_mapping"), x.host_path, x.container_path,
           x.permissions);
}

// A device as config.json's linux.devices holds it, with the access the
// device cgroup grants.
struct host_device {
  std::string path;  // inside the container
  std::string type;  // "c" or "b"
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::uint32_t file_mode = 0;  // permission bits of the host's node
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string access;  // "rwm" or part of it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_device& x) {
  return f(caf::meta::type_name("berth.host_device"), x.path, x.type, x.major, x.minor, x.file_mode,
           x.uid, x.gid, x.access);
}

// Pure: the device `m` names, given what stat said of its host path, or
// invalid_argument naming the path and the rule:
//   invalid device "/etc/passwd" for container default/web: must be a character or block
//   device on the host; it is a regular file
caf::expected<host_device> device_from_stat(const device_mapping& m, const struct stat& st,
                                            const std::string& container);

// Blocking (one stat): the device `m` names on this host, or invalid_argument
// naming the path and the rule (the mapping's own rules included, as
// device_mapping_problem; a path that does not exist or cannot be reached).
caf::expected<host_device> find_host_device(const device_mapping& m, const std::string& container);

}  // namespace berth
