// Aligned text tables as ctr prints them (Go's tabwriter with padding 3 and
// a minimum cell width of 10): a header row in capitals, one row per object,
// every column but the last padded to its widest cell.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace berth::cli {

class table {
 public:
  explicit table(std::vector<std::string> headers);

  // A row with as many cells as there are headers (missing cells are empty).
  void add(std::vector<std::string> row);

  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

// How --format is offered on list verbs.
inline constexpr const char* kFormatTable = "table";
inline constexpr const char* kFormatJson = "json";

}  // namespace berth::cli
