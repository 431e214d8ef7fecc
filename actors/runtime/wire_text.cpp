#include "actors/runtime/wire_text.hpp"

#include <cstdio>

namespace berth::wire_text {

std::size_t invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Length of the sequence and the range its second byte must fall in
    // (the narrower ranges exclude overlongs, surrogates and > U+10FFFF).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;  // a continuation byte first, 0xc0/0xc1, or 0xf5..0xff
    }
    if (i + len > n) return i;  // cut short at the end
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string problem(std::string_view s, std::size_t max_bytes) {
  if (s.size() > max_bytes)
    return "is " + std::to_string(s.size()) + " bytes long (limit " + std::to_string(max_bytes) +
           ")";
  auto at = invalid_utf8_at(s);
  if (at != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(s[at]));
    return std::string("not valid UTF-8 (byte ") + byte + " at offset " + std::to_string(at) + ")";
  }
  auto nul = s.find('\0');
  if (nul != std::string_view::npos) return "contains a NUL byte at offset " + std::to_string(nul);
  return "";
}

}  // namespace berth::wire_text
