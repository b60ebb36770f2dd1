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

// One bound value: SQL NULL, an integer or text.
struct SqlParam {
  enum class Kind : uint8_t { null, integer, text };
  Kind kind = Kind::null;
  std::string text;
  int64_t integer = 0;
  static SqlParam of(std::string s) { return SqlParam{Kind::text, std::move(s), 0}; }
  static SqlParam of(int64_t v) { return SqlParam{Kind::integer, {}, v}; }
  static SqlParam null() { return SqlParam{}; }
  bool is_text() const { return kind == Kind::text; }
};

// Native hosts run these values directly (server/sqlite_exec.h keeps one
// prepared statement per distinct `sql`); only the wasm ABI turns them into
// JSON (durable/abi/action_codec.cpp).
struct SqlStatement {
  std::string sql;
  std::vector<SqlParam> params;  // ?1..?N (or positional ? in order)
};

// Appends {"sql":"...","params":[...]} (the host ABI's statement format).
void append_statement_json(std::string& out, const SqlStatement& st);

// Appends {"stmts":[...]} for a batch.
std::string batch_json(const std::vector<SqlStatement>& stmts);

}  // namespace nostr
