#include "schema/log_limits.hpp"

#include <cctype>
#include <ctime>
#include <stdexcept>

namespace berth {

std::uint64_t parse_log_size(std::string_view text, std::string_view what) {
  auto refuse = [&](const std::string& why) -> std::uint64_t {
    throw std::invalid_argument(std::string(what) + " \"" + std::string(text) + "\": " + why);
  };
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] == '-') return refuse("must be positive");
  std::size_t digits = i;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (n > (UINT64_MAX - 9) / 10) return refuse("is too large");
    n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i == digits) return refuse("is not a size (a number with an optional unit: 10m, 1g)");
  std::string unit;
  for (; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) continue;
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  int shift = 0;
  if (!unit.empty()) {
    static constexpr std::string_view units = "bkmgt";
    auto at = units.find(unit[0]);
    std::string_view rest = std::string_view(unit).substr(1);
    bool suffix_ok = unit[0] == 'b' ? rest.empty() : (rest.empty() || rest == "b" || rest == "ib");
    if (at == std::string_view::npos || !suffix_ok)
      return refuse("has an unknown unit \"" + unit + "\" (use b, k, m, g or t)");
    shift = static_cast<int>(at) * 10;
  }
  if (n == 0) return refuse("must be positive");
  if (shift > 0 && n > (UINT64_MAX >> shift)) return refuse("is too large");
  return n << shift;
}

std::optional<std::string> check_log_limits(std::int64_t size, std::int64_t files,
                                            std::string_view size_what,
                                            std::string_view files_what) {
  if (size <= 0) return std::string(size_what) + " must be positive, not " + std::to_string(size);
  if (static_cast<std::uint64_t>(size) < kMinLogMaxSize)
    return std::string(size_what) + " must be at least " + std::to_string(kMinLogMaxSize) +
           " bytes, not " + std::to_string(size);
  if (files <= 0)
    return std::string(files_what) + " must be positive, not " + std::to_string(files);
  if (files > kMaxLogMaxFiles)
    return std::string(files_what) + " must be at most " + std::to_string(kMaxLogMaxFiles) +
           ", not " + std::to_string(files);
  return std::nullopt;
}

std::optional<std::int64_t> parse_rfc3339_ns(std::string_view t) {
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), mon = digits(5, 2), day = digits(8, 2), hh = digits(11, 2),
       mm = digits(14, 2), ss = digits(17, 2);
  if (!year || !mon || !day || !hh || !mm || !ss || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac = 0;
  if (i < t.size() && t[i] == '.') {
    int n = 0;
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++n)
      if (n < 9) frac = frac * 10 + (t[i] - '0');
    for (; n < 9; ++n) frac *= 10;
  }
  std::int64_t offset = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || t[i + 3] != ':') return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (t[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  tm when{};
  when.tm_year = *year - 1900;
  when.tm_mon = *mon - 1;
  when.tm_mday = *day;
  when.tm_hour = *hh;
  when.tm_min = *mm;
  when.tm_sec = *ss;
  std::int64_t secs = static_cast<std::int64_t>(timegm(&when)) - offset;
  return secs * 1000000000 + frac;
}

}  // namespace berth
