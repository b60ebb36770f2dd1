// Statement results as a host hands them back (format: durable/abi/relay_abi.h,
// "Results"): what store and local SQL reads return to the engine. Host-neutral:
// the wasm glue encodes them from D1 / DO SQLite rows, a native host from SQLite.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace nostr {

// One statement's results. Cells borrow the host buffer.
struct ResultSet {
  uint32_t changes = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<std::pair<bool, std::string_view>> cells;  // (is_null, text)
  std::string_view cell(uint32_t row, uint32_t col) const { return cells[row * cols + col].second; }
  bool is_null(uint32_t row, uint32_t col) const { return cells[row * cols + col].first; }
};

// Decodes a results buffer into `out` (its cells borrow `buf`); returns false
// if it is malformed (a host bug).
[[nodiscard]] bool parse_results(std::string_view buf, std::vector<ResultSet>& out);

}  // namespace nostr
