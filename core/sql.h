// Parameterised SQL statements as the core hands them to the host. The SQL
// text always comes from a fixed set of shapes in this library; only values
// are bound, never spliced into the text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nostr {

// D1 and Durable Object SQLite both cap a statement at 100 bound parameters.
inline constexpr size_t kMaxSqlParams = 100;

struct SqlParam {
  bool is_text;
  std::string text;
  int64_t integer = 0;
  static SqlParam of(std::string s) { return SqlParam{true, std::move(s), 0}; }
  static SqlParam of(int64_t v) { return SqlParam{false, {}, v}; }
};

struct SqlStatement {
  std::string sql;
  std::vector<SqlParam> params;  // ?1..?N (or positional ? in order)
};

// Appends {"sql":"...","params":[...]} (the host ABI's statement format).
void append_statement_json(std::string& out, const SqlStatement& st);

// Appends {"stmts":[...]} for a batch.
std::string batch_json(const std::vector<SqlStatement>& stmts);

}  // namespace nostr
