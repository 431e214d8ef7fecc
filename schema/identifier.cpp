#include "schema/identifier.hpp"

namespace berth {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_separator(char c) {
  return c == '.' || c == '_' || c == '-';
}

// Printable form of a rejected value: control bytes become \xNN so a message
// never carries a NUL or an escape sequence to a terminal.
std::string quoted(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : value.substr(0, 100)) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > 100) out += "...";
  return out + "\"";
}

}  // namespace

std::optional<std::string> check_identifier(std::string_view what, std::string_view value) {
  const std::string prefix = "invalid " + std::string(what) + " ";
  if (value.empty()) return prefix + "\"\": must not be empty";
  if (value.size() > kMaxIdentifierLength) {
    return prefix + quoted(value) + ": longer than " + std::to_string(kMaxIdentifierLength) +
           " characters (" + std::to_string(value.size()) + ")";
  }
  bool after_separator = true;  // the first character must be alphanumeric
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (is_alnum(c)) {
      after_separator = false;
    } else if (is_separator(c)) {
      if (after_separator) {
        return prefix + quoted(value) +
               ": must start with a letter or digit, and '.', '_' or '-' must sit between "
               "letters or digits";
      }
      after_separator = true;
    } else {
      return prefix + quoted(value) + ": character " + quoted(std::string_view(&value[i], 1)) +
             " at " + std::to_string(i) + " is not allowed (only letters, digits, '.', '_', '-')";
    }
  }
  if (after_separator) {
    return prefix + quoted(value) + ": must end with a letter or digit";
  }
  return std::nullopt;
}

}  // namespace berth
