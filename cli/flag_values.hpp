// The values of flags that carry structure: --env K=V, --label K=V,
// --mount type=bind,src=…,dst=…,options=ro:rbind, --user U. Each parser
// throws std::invalid_argument with a message naming the bad value; the
// CLI11 validators built from them turn that into a usage error (exit 2).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::cli {

struct key_value {
  std::string key;
  std::string value;
};

// "K=V" (V may be empty or contain '='). `flag` names the flag in messages.
key_value parse_key_value(const std::string& text, const std::string& flag);

struct mount_value {
  std::string type = "bind";
  std::string source;
  std::string destination;
  std::vector<std::string> options;
};

// "type=bind,src=/a,dst=/b,options=ro:rbind" (also source=, destination=,
// target=). A bind mount without options gets "rbind", as ctr gives it.
mount_value parse_mount(const std::string& text);

struct user_value {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::string name;  // set when the user is not numeric ("nobody", "web:staff")
};

// "1000", "1000:100", "nobody", "nobody:nogroup".
user_value parse_user(const std::string& text);

// `t logs --since`: an RFC 3339 time, Unix seconds ("1764655200" or with a
// fraction), or a duration before now ("10m", "1h30m", "45s", "500ms"), as
// ns since the epoch. Throws std::invalid_argument naming the value.
std::int64_t parse_since(const std::string& text);

// `t logs --since`: an RFC 3339 time, Unix seconds ("1764655200" or with a
// fraction), or a duration before now ("10m", "1h30m", "45s", "500ms"), as
// ns since the epoch. Throws std::invalid_argument naming the value.
std::int64_t parse_since(const std::string& text);

// CLI11 validators: the empty string when `text` parses, else the reason.
CLI::Validator env_validator();
CLI::Validator label_validator();
CLI::Validator mount_validator();
CLI::Validator user_validator();
CLI::Validator signal_validator();
// --cap-add/--cap-drop (`flag`): a capability name (schema/capability_names.hpp)
// or ALL; --device: HOST[:CONTAINER[:PERMS]] (schema/device_mapping.hpp).
CLI::Validator capability_validator(const std::string& flag);
CLI::Validator device_validator();

}  // namespace berth::cli
