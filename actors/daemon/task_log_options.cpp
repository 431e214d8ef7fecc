#include "actors/daemon/task_log_options.hpp"

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"

namespace berth {

caf::expected<log_limits> choose_log_limits(std::int64_t size, std::int64_t files,
                                            const log_limits& defaults, const std::string& ns,
                                            const std::string& id) {
  auto s = size == 0 ? static_cast<std::int64_t>(defaults.max_size) : size;
  auto f = files == 0 ? static_cast<std::int64_t>(defaults.max_files) : files;
  if (auto why = check_log_limits(s, f, "--log-max-size", "--log-max-files"))
    return make_error(errc::invalid_argument,
                      "cannot create container " + ns + "/" + id + ": " + *why);
  return log_limits{static_cast<std::uint64_t>(s), static_cast<std::uint32_t>(f)};
}

std::string with_log_limits(const std::string& runtime_options, const log_limits& limits) {
  auto doc = runtime_options.empty() ? nlohmann::json::object()
                                     : nlohmann::json::parse(runtime_options, nullptr, false);
  if (!doc.is_object()) doc = nlohmann::json::object();
  doc["log_max_size"] = limits.max_size;
  doc["log_max_files"] = limits.max_files;
  return doc.dump();
}

log_limits log_limits_of(const std::string& runtime_options) {
  log_limits limits;
  if (runtime_options.empty()) return limits;
  auto doc = nlohmann::json::parse(runtime_options, nullptr, false);
  if (!doc.is_object()) return limits;
  if (auto it = doc.find("log_max_size"); it != doc.end() && it->is_number_unsigned())
    limits.max_size = it->get<std::uint64_t>();
  if (auto it = doc.find("log_max_files"); it != doc.end() && it->is_number_unsigned())
    limits.max_files = it->get<std::uint32_t>();
  return limits;
}

}  // namespace berth
