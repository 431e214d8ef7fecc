#include "shim/core/exec_process.hpp"

#include <set>
#include <stdexcept>
#include <string>

namespace berth::shim {
namespace {

const char* const kClientFields =
    "a client sets only args, env, cwd, user, terminal, consoleSize, and capabilities within "
    "the container's bounding set";

bool client_field(const std::string& key) {
  static const std::set<std::string> fields{"args",     "env",         "cwd",         "user",
                                            "terminal", "consoleSize", "capabilities"};
  return fields.count(key) > 0;
}

[[noreturn]] void refuse(const std::string& why) {
  throw std::invalid_argument(why);
}

// Each set of `caps` within the container's bounding set.
void check_capabilities(const nlohmann::json& caps, const nlohmann::json& container_process) {
  if (!caps.is_object()) refuse("\"capabilities\" must be an object");
  std::set<std::string> bounding;
  auto own = container_process.find("capabilities");
  if (own != container_process.end() && own->is_object()) {
    auto b = own->find("bounding");
    if (b != own->end() && b->is_array())
      for (const auto& c : *b)
        if (c.is_string()) bounding.insert(c.get<std::string>());
  }
  static const std::set<std::string> sets{"bounding", "effective", "inheritable", "permitted",
                                          "ambient"};
  for (const auto& [set, list] : caps.items()) {
    if (!sets.count(set)) refuse("\"capabilities\" has no set \"" + set + "\"");
    if (!list.is_array()) refuse("\"capabilities\" set \"" + set + "\" must be a list");
    for (const auto& c : list) {
      if (!c.is_string()) refuse("\"capabilities\" set \"" + set + "\" must list names");
      auto name = c.get<std::string>();
      if (!bounding.count(name))
        refuse("\"capabilities\" may not hold " + name + " (in \"" + set +
               "\"): it is outside the container's bounding set");
    }
  }
}

}  // namespace

nlohmann::json exec_process(const nlohmann::json& container_process,
                            const nlohmann::json& request) {
  if (!request.is_object() || !request.contains("args") || !request["args"].is_array() ||
      request["args"].empty())
    refuse("args must not be empty");
  nlohmann::json proc =
      container_process.is_object() ? container_process : nlohmann::json::object();
  for (const auto& [key, value] : request.items()) {
    if (key == "capabilities") {
      check_capabilities(value, container_process);
    } else if (!client_field(key)) {
      auto own = proc.find(key);
      if (own == proc.end())
        refuse("\"" + key + "\" may not be set by a client (" + kClientFields + ")");
      if (*own != value)
        refuse("\"" + key + "\" may not differ from the container's (" + kClientFields + ")");
    }
    proc[key] = value;
  }
  return proc;
}

}  // namespace berth::shim
