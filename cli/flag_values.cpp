#include "cli/flag_values.hpp"

#include <cctype>
#include <ctime>
#include <stdexcept>

#include "cli/signal_names.hpp"
#include "schema/capability_names.hpp"
#include "schema/device_mapping.hpp"
#include "schema/log_limits.hpp"

namespace berth::cli {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (;;) {
    size_t end = text.find(sep, begin);
    parts.push_back(text.substr(begin, end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

std::optional<uint32_t> parse_id_number(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(n);
}

[[noreturn]] void bad_mount(const std::string& text, const std::string& why) {
  throw std::invalid_argument("invalid mount \"" + text + "\": " + why);
}

// Turns a parser into a CLI11 check: its exception's message is the reason.
template <typename Parse>
CLI::Validator validator_from(Parse parse, const std::string& description) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      description);
}

}  // namespace

key_value parse_key_value(const std::string& text, const std::string& flag) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw std::invalid_argument("invalid " + flag + " \"" + text + "\": expected KEY=VALUE");
  }
  if (eq == 0) {
    throw std::invalid_argument("invalid " + flag + " \"" + text + "\": the key is empty");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

mount_value parse_mount(const std::string& text) {
  mount_value mount;
  bool have_options = false;
  for (const std::string& field : split(text, ',')) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) bad_mount(text, "\"" + field + "\" is not KEY=VALUE");
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "type") {
      mount.type = value;
    } else if (key == "src" || key == "source") {
      mount.source = value;
    } else if (key == "dst" || key == "destination" || key == "target") {
      mount.destination = value;
    } else if (key == "options") {
      have_options = true;
      for (const std::string& option : split(value, ':')) {
        if (option.empty()) bad_mount(text, "an empty option");
        mount.options.push_back(option);
      }
    } else {
      bad_mount(text, "unknown key \"" + key +
                          "\" (known: type, src, source, dst, destination, target, options)");
    }
  }
  if (mount.type.empty()) bad_mount(text, "the type is empty");
  if (mount.destination.empty()) bad_mount(text, "dst is missing");
  if (mount.destination.front() != '/') bad_mount(text, "dst must be an absolute path");
  if (mount.type == "bind") {
    if (mount.source.empty()) bad_mount(text, "src is missing");
    if (mount.source.front() != '/') bad_mount(text, "src must be an absolute path");
    if (!have_options) mount.options.push_back("rbind");
  }
  return mount;
}

user_value parse_user(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("invalid --user \"\": the user is empty");
  auto parts = split(text, ':');
  if (parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty())) {
    throw std::invalid_argument("invalid --user \"" + text + "\": expected USER or USER:GROUP");
  }
  auto uid = parse_id_number(parts[0]);
  auto gid = parts.size() == 2 ? parse_id_number(parts[1]) : std::optional<uint32_t>(0);
  if (uid && gid) return {uid, gid, {}};
  // Names are resolved inside the container's own /etc/passwd, by the daemon.
  return {std::nullopt, std::nullopt, text};
}

CLI::Validator env_validator() {
  return validator_from([](const std::string& t) { parse_key_value(t, "--env"); }, "KEY=VALUE");
}

CLI::Validator label_validator() {
  return validator_from([](const std::string& t) { parse_key_value(t, "--label"); }, "KEY=VALUE");
}

CLI::Validator mount_validator() {
  return validator_from([](const std::string& t) { parse_mount(t); },
                        "type=bind,src=PATH,dst=PATH[,options=ro:rbind]");
}

CLI::Validator user_validator() {
  return validator_from([](const std::string& t) { parse_user(t); }, "USER[:GROUP]");
}

CLI::Validator signal_validator() {
  return validator_from(
      [](const std::string& t) {
        if (!parse_signal(t)) throw std::invalid_argument("unknown signal \"" + t + "\"");
      },
      "SIGNAL");
}

CLI::Validator capability_validator(const std::string& flag) {
  return validator_from(
      [flag](const std::string& t) {
        if (auto why = berth::capability_problem(t))
          throw std::invalid_argument("invalid " + flag + " \"" + t + "\": " + *why);
      },
      "CAPABILITY");
}

CLI::Validator device_validator() {
  return validator_from([](const std::string& t) { berth::parse_device_mapping(t); },
                        "HOST[:CONTAINER[:PERMS]]");
}

std::int64_t parse_since(const std::string& text) {
  if (auto t = berth::parse_rfc3339_ns(text)) return *t;
  auto bad = [&]() -> std::int64_t {
    throw std::invalid_argument("--since \"" + text +
                                "\": not a time (2026-12-02T06:00:00Z), Unix seconds or a "
                                "duration ago (10m, 1h30m)");
  };
  if (text.empty()) return bad();
  // Unix seconds, with an optional fraction.
  if (text.find_first_not_of("0123456789.") == std::string::npos) {
    auto dot = text.find('.');
    if (dot == 0 || (dot != std::string::npos && text.find('.', dot + 1) != std::string::npos))
      return bad();
    std::int64_t secs = std::stoll(text.substr(0, dot));
    std::int64_t frac = 0;
    if (dot != std::string::npos) {
      std::string f = text.substr(dot + 1, 9);
      f.resize(9, '0');
      frac = std::stoll(f);
    }
    return secs * 1000000000 + frac;
  }
  // A duration: numbers with units h, m, s, ms.
  std::int64_t ago = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t digits = i;
    std::int64_t n = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (n > 1000000000) return bad();
      n = n * 10 + (text[i] - '0');
    }
    if (i == digits) return bad();
    std::int64_t unit = 0;
    if (text.compare(i, 2, "ms") == 0) {
      unit = 1000000;
      i += 2;
    } else if (i < text.size() && text[i] == 'h') {
      unit = 3600 * 1000000000LL;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = 60 * 1000000000LL;
      ++i;
    } else if (i < text.size() && text[i] == 's') {
      unit = 1000000000LL;
      ++i;
    } else {
      return bad();
    }
    ago += n * unit;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec - ago;
}

}  // namespace berth::cli
