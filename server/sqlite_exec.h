// Executes the core's statement JSON ({"sql","params"} or {"stmts":[..]}) on
// a SQLite database and encodes results in the host ABI format
// (durable/abi/relay_abi.h): what the JS glue does with D1. The native server
// stores events with it; the simulated host and the fuzzer use it too, so the
// engine's SQL runs the same way in tests and in production.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "simdjson.h"

namespace nostr::sqlite {

class SqliteDb {
 public:
  // An in-memory database, optionally initialised with a schema file.
  explicit SqliteDb(const std::string& schema_path = "") {
    sqlite3_open(":memory:", &db_);
    apply_limits();
    if (!schema_path.empty()) {
      std::ifstream in(schema_path);
      std::stringstream ss;
      ss << in.rdbuf();
      exec_script(ss.str());
    }
  }
  // Replaces the in-memory database with the file at `path` (created if
  // missing). Returns false with `error` set when it cannot be opened.
  bool open_file(const std::string& path, std::string& error) {
    sqlite3_close(db_);
    db_ = nullptr;
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      error = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
      return false;
    }
    apply_limits();
    return true;
  }
  std::string last_error() const { return db_ ? sqlite3_errmsg(db_) : "no database"; }

 private:
  void apply_limits() {
    // D1's limits, so a statement D1 would refuse fails here too.
    sqlite3_limit(db_, SQLITE_LIMIT_COMPOUND_SELECT, 5);
    sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, 100);
    sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, 100000);
    sqlite3_limit(db_, SQLITE_LIMIT_EXPR_DEPTH,
                  100);  // "Expression tree is too large (maximum depth 100)"
    // D1 (SQLite >= 3.43) has octet_length; Debian 12's SQLite (3.40) does not.
    if (sqlite3_libversion_number() < 3043000) {
      sqlite3_create_function(
          db_, "octet_length", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
          [](sqlite3_context* ctx, int, sqlite3_value** argv) {
            if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
            sqlite3_value_blob(argv[0]);  // bytes, not characters
            sqlite3_result_int(ctx, sqlite3_value_bytes(argv[0]));
          },
          nullptr, nullptr);
    }
  }

 public:
  ~SqliteDb() { sqlite3_close(db_); }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* handle() { return db_; }

  bool exec_script(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  // Runs one statement object; appends its encoded result. Returns false on error.
  bool run(simdjson::dom::element st, std::string& out, std::string& error) {
    std::string_view sql;
    simdjson::dom::array params;
    if (st["sql"].get_string().get(sql) || st["params"].get_array().get(params)) {
      error = "malformed statement";
      return false;
    }
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, std::string(sql).c_str(), -1, &s, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      return false;
    }
    int i = 1;
    for (simdjson::dom::element p : params) {
      std::string_view text;
      int64_t v = 0;
      if (!p.get_string().get(text)) {
        sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      } else if (!p.get_int64().get(v)) {
        sqlite3_bind_int64(s, i, v);
      } else {
        sqlite3_bind_null(s, i);
      }
      ++i;
    }
    std::vector<std::string> cells;
    std::vector<bool> nulls;
    const int cols = sqlite3_column_count(s);
    uint32_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      ++rows;
      for (int c = 0; c < cols; ++c) {
        const bool is_null = sqlite3_column_type(s, c) == SQLITE_NULL;
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        cells.emplace_back(t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(s, c)))
                             : std::string());
        nulls.push_back(is_null);
      }
    }
    if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      sqlite3_finalize(s);
      return false;
    }
    const uint32_t changes =
        sqlite3_stmt_readonly(s) ? 0 : static_cast<uint32_t>(sqlite3_changes(db_));
    sqlite3_finalize(s);
    u32(out, changes);
    u32(out, rows);
    u32(out, static_cast<uint32_t>(cols));
    for (size_t c = 0; c < cells.size(); ++c) {
      if (nulls[c]) {
        u32(out, 0xffffffffu);
      } else {
        u32(out, static_cast<uint32_t>(cells[c].size()));
        out += cells[c];
      }
    }
    return true;
  }

  // Runs {"stmts":[..]} in one transaction (like D1 batch). Returns false and
  // rolls back on error. `fail_at` is for fault tests: statement fail_at
  // (0-based) fails as if D1 refused it, after 0..fail_at-1 ran, and the
  // whole batch rolls back (a D1 batch is atomic).
  bool run_batch(std::string_view json, std::string& out, std::string& error,
                 size_t fail_at = SIZE_MAX) {
    simdjson::dom::parser p;
    simdjson::dom::element root;
    simdjson::dom::array stmts;
    if (p.parse(json.data(), json.size(), true).get(root) || root["stmts"].get_array().get(stmts)) {
      error = "malformed batch";
      return false;
    }
    out.clear();
    u32(out, static_cast<uint32_t>(stmts.size()));
    if (!exec_script("BEGIN")) {
      error = std::string("BEGIN failed: ") + sqlite3_errmsg(db_);
      return false;
    }
    size_t i = 0;
    for (simdjson::dom::element st : stmts) {
      if (i++ == fail_at) {
        exec_script("ROLLBACK");
        error =
            "D1_ERROR: injected failure at statement " + std::to_string(fail_at) + " of the batch";
        return false;
      }
      if (!run(st, out, error)) {
        exec_script("ROLLBACK");
        return false;
      }
    }
    // The statements may all succeed in the page cache and the COMMIT still
    // fail (a full disk, an unwritable WAL): then nothing was stored, and the
    // batch must say so, or its events would be answered OK true.
    if (!exec_script("COMMIT")) {
      error = std::string("COMMIT failed: ") + sqlite3_errmsg(db_);
      if (!sqlite3_get_autocommit(db_)) exec_script("ROLLBACK");  // SQLITE_BUSY leaves it open
      return false;
    }
    return true;
  }

  // Runs a single {"sql","params"} statement.
  bool run_one(std::string_view json, std::string& out, std::string& error) {
    simdjson::dom::parser p;
    simdjson::dom::element root;
    if (p.parse(json.data(), json.size(), true).get(root)) return false;
    out.clear();
    u32(out, 1);
    return run(root, out, error);
  }

  // Returns the EXPLAIN QUERY PLAN detail lines for a {"sql","params"} JSON.
  std::string explain(std::string_view json) {
    simdjson::dom::parser p;
    simdjson::dom::element root;
    std::string_view sql;
    if (p.parse(json.data(), json.size(), true).get(root) || root["sql"].get_string().get(sql))
      return "";
    sqlite3_stmt* s = nullptr;
    const std::string q = "EXPLAIN QUERY PLAN " + std::string(sql);
    if (sqlite3_prepare_v2(db_, q.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return std::string("ERROR ") + sqlite3_errmsg(db_);
    std::string plan;
    while (sqlite3_step(s) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
      plan += '\n';
    }
    sqlite3_finalize(s);
    return plan;
  }

 private:
  static void u32(std::string& out, uint32_t v) {
    const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
    out.append(b, 4);
  }
  sqlite3* db_ = nullptr;
};

}  // namespace nostr::sqlite
