#include "cli/table.hpp"

#include <algorithm>

namespace berth::cli {
namespace {

constexpr size_t kPadding = 3;
constexpr size_t kMinWidth = 10;

// Display width: UTF-8 continuation bytes take no column.
size_t width(const std::string& cell) {
  return static_cast<size_t>(
      std::count_if(cell.begin(), cell.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

table::table(std::vector<std::string> headers) {
  rows_.push_back(std::move(headers));
}

void table::add(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

void table::print(std::ostream& out) const {
  size_t columns = rows_.front().size();
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < columns; ++c) widths[c] = std::max(widths[c], width(row[c]));
  }
  for (auto& w : widths) w = std::max(w + kPadding, kMinWidth);
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      line += row[c];
      if (c + 1 < columns) line.append(widths[c] - width(row[c]), ' ');
    }
    // The last cell may be empty; trailing blanks only confuse scripts.
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  }
}

}  // namespace berth::cli
