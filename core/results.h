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

// What one store or local SQL batch came back with, decoded once where the
// host hands it over: ok with one result set per statement, or not ok with
// the host's error text. Cells and the error borrow the host's buffer: a
// BatchResult lives for the completion call it is passed to.
struct BatchResult {
  bool ok = false;
  std::vector<ResultSet> sets;  // ok: one per statement of the batch
  std::string_view error;       // not ok: why (the host's message)
  // A host's completion: (ok, results buffer) or (false, error message). A
  // malformed buffer (a host bug) is a failure, "malformed results".
  static BatchResult decode(bool ok, std::string_view bytes);
  // A failure with `error` (borrowed).
  static BatchResult failed(std::string_view error) { return BatchResult{false, {}, error}; }
};

}  // namespace nostr
