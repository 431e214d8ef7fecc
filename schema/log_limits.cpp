#include "schema/log_limits.hpp"

#include <cctype>
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

}  // namespace berth
