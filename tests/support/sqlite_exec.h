// Test support: the SQLite statement runner the native server uses
// (server/sqlite_exec.h), under the test namespace.
#pragma once

#include <string>
#include <string_view>

#include "server/sqlite_exec.h"

namespace nostr::test {
using sqlite::SqliteDb;

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
