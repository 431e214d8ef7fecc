#include "schema/device_mapping.hpp"

#include <stdexcept>
#include <vector>

namespace berth {
namespace {

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Absolute, and no ".." anywhere: the host path is looked up as written.
bool absolute_without_dotdot(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (auto c : components(p))
    if (c == "..") return false;
  return true;
}

// Absolute and in normal form ("/dev/x", never "/dev//x", "/dev/./x" or
// "/dev/x/"), not the root itself: runc creates the node there, inside the
// container's root.
bool normalised_absolute(std::string_view p) {
  if (p.size() < 2 || p.front() != '/') return false;
  for (auto c : components(p))
    if (c.empty() || c == "." || c == "..") return false;
  return true;
}

}  // namespace

bool valid_device_permissions(std::string_view perms) {
  if (perms.empty() || perms.size() > 3) return false;
  bool seen[3] = {false, false, false};
  for (char c : perms) {
    auto at = std::string_view("rwm").find(c);
    if (at == std::string_view::npos || seen[at]) return false;
    seen[at] = true;
  }
  return true;
}

device_mapping with_defaults(device_mapping m) {
  if (m.container_path.empty()) m.container_path = m.host_path;
  if (m.permissions.empty()) m.permissions = "rwm";
  return m;
}

std::optional<std::string> device_mapping_problem(const device_mapping& given) {
  auto m = with_defaults(given);
  if (!absolute_without_dotdot(m.host_path))
    return "host path \"" + m.host_path + "\": must be an absolute path without ..";
  if (!normalised_absolute(m.container_path))
    return "container path \"" + m.container_path +
           "\": must be an absolute, normalised path without . or ..";
  if (!valid_device_permissions(m.permissions))
    return "permissions \"" + m.permissions +
           "\": must be a combination of r, w and m, each at most once";
  return std::nullopt;
}

device_mapping parse_device_mapping(std::string_view text) {
  auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("invalid --device \"" + std::string(text) + "\": " + why);
  };
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto end = text.find(':', start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  device_mapping m;
  switch (parts.size()) {
    case 1:
      m.host_path = parts[0];
      break;
    case 2:
      m.host_path = parts[0];
      (valid_device_permissions(parts[1]) ? m.permissions : m.container_path) = parts[1];
      break;
    case 3:
      m.host_path = parts[0];
      m.container_path = parts[1];
      m.permissions = parts[2];
      break;
    default:
      refuse("expected HOST[:CONTAINER[:PERMS]]");
  }
  // An empty part written out ("/dev/x::r", "/dev/x:") is a mistake, not a default.
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (parts[i].empty()) refuse("expected HOST[:CONTAINER[:PERMS]], with no empty part");
  if (auto why = device_mapping_problem(m)) refuse(*why);
  return with_defaults(std::move(m));
}

}  // namespace berth
