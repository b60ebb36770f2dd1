// Test support: the SQLite statement runner the native server uses
// (server/sqlite_exec.h), under the test namespace.
#pragma once

#include <string>
#include <string_view>

#include "server/sqlite_exec.h"

namespace nostr::test {
using sqlite::SqliteDb;

// Statements in a {"stmts":[..]} batch (0 if it does not parse).
inline size_t batch_statement_count(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  simdjson::dom::array stmts;
  if (p.parse(json.data(), json.size(), true).get(root) || root["stmts"].get_array().get(stmts))
    return 0;
  return stmts.size();
}

// Rows of a one-cell query (SELECT COUNT(*) ...) on `db`, or -1 on error.
inline long long scalar(SqliteDb& db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  long long v = -1;
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}
}  // namespace nostr::test
