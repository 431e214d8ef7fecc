// What a string that arrived over the wire must be before berth keeps it:
// valid UTF-8 (the store and the OCI spec are JSON, and nlohmann's dump
// throws on anything else), free of NUL bytes (a NUL would silently cut the
// string where it becomes a C string: a path, an argv entry), and no longer
// than a limit. Used on requests from API clients (actors/daemon/
// api_validation.*) and on answers from shims (wire_convert.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::wire_text {

// Offset of the first byte that does not belong to a well-formed UTF-8
// sequence (overlong forms, surrogates and code points past U+10FFFF are
// ill-formed, as RFC 3629 says), or std::string_view::npos.
std::size_t invalid_utf8_at(std::string_view s);

// "" when `s` is acceptable; otherwise the rule it breaks, for a message:
// "not valid UTF-8 (byte 0xff at offset 2)", "contains a NUL byte at offset 4",
// "is 5000 bytes long (limit 4096)". Never quotes `s` itself.
std::string problem(std::string_view s, std::size_t max_bytes);

}  // namespace berth::wire_text
