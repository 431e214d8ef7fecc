#include "cli/display.hpp"

#include <cstdio>
#include <ctime>

namespace berth::cli {

std::string status_name(wire::TaskStatus status) {
  switch (status) {
    case wire::TaskStatus::CREATED:
      return "CREATED";
    case wire::TaskStatus::RUNNING:
      return "RUNNING";
    case wire::TaskStatus::PAUSED:
      return "PAUSED";
    case wire::TaskStatus::STOPPED:
      return "STOPPED";
    case wire::TaskStatus::CREATED_CHECKPOINT:
      return "CREATED_CHECKPOINT";
    case wire::TaskStatus::DELETED:
      return "DELETED";
    case wire::TaskStatus::UNKNOWN:
      break;
  }
  return "UNKNOWN";
}

std::string format_time(int64_t ns) {
  if (ns == 0) return "";
  time_t seconds = static_cast<time_t>(ns / 1000000000);
  long fraction = static_cast<long>(ns % 1000000000);
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string text = buf;
  if (fraction != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", fraction);
    std::string f = frac;
    f.erase(f.find_last_not_of('0') + 1);
    text += f;
  }
  return text + "Z";
}

std::string human_size(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  }
  return buf;
}

std::string labels_text(capnp::List<wire::KeyValue>::Reader labels) {
  if (labels.size() == 0) return "-";
  std::string text;
  for (auto kv : labels) {
    if (!text.empty()) text += ',';
    text += std::string(kv.getKey().cStr()) + "=" + kv.getValue().cStr();
  }
  return text;
}

}  // namespace berth::cli
