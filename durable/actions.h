// ActionWriter: encodes what the engine wants the host to do, in the record
// format documented in durable/abi/relay_abi.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nostr::durable {

enum class ActionType : uint32_t { send = 1, fanout = 2, d1 = 3, sql = 4, attach = 5, close = 6 };

class ActionWriter {
 public:
  // Send one text frame to a connection.
  void send(uint32_t conn, std::string_view text) { record(ActionType::send, conn, 0, text); }
  // Send prefix + raw + "]" to each (conn, prefix).
  void fanout(std::string_view raw, const std::vector<std::pair<uint32_t, std::string>>& targets);
  // Run a D1 batch (JSON {"stmts":[..]}) and report back with `token`.
  void d1(uint32_t token, std::string_view batch_json) { record(ActionType::d1, token, 0, batch_json); }
  // Run one DO SQLite statement now; token 0 means no results wanted.
  void sql(uint32_t token, std::string_view stmt_json) { record(ActionType::sql, token, 0, stmt_json); }
  // Store opaque connection state with the socket.
  void attach(uint32_t conn, std::string_view state) { record(ActionType::attach, conn, 0, state); }
  // Close a socket.
  void close(uint32_t conn, uint32_t code, std::string_view reason) { record(ActionType::close, conn, code, reason); }

  const std::string& bytes() const { return buf_; }
  void clear() { buf_.clear(); }

 private:
  void u32(uint32_t v);
  void pad();
  void record(ActionType type, uint32_t a, uint32_t b, std::string_view payload);
  std::string buf_;
};

// One statement's results from the host (see relay_abi.h). Cells borrow the
// host buffer.
struct ResultSet {
  uint32_t changes = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<std::pair<bool, std::string_view>> cells;  // (is_null, text)
  std::string_view cell(uint32_t row, uint32_t col) const { return cells[row * cols + col].second; }
  bool is_null(uint32_t row, uint32_t col) const { return cells[row * cols + col].first; }
};

// Decodes a results buffer; returns false if it is malformed (a host bug).
[[nodiscard]] bool parse_results(std::string_view buf, std::vector<ResultSet>& out);

}  // namespace nostr::durable
