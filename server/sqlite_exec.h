// Executes the core's statements (core/sql.h) on a SQLite database and
// encodes results in the host ABI format
// (durable/abi/relay_abi.h): what the JS glue does with D1. The native server
// stores events with it; the simulated host and the fuzzer use it too, so the
// engine's SQL runs the same way in tests and in production.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sql.h"

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
    finalize_all();
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
    // Plans never depend on bound values (the query planner stability
    // guarantee). Without it, comparing a bound parameter while SQLite weighs
    // the partial index events_expires marks the statement to be re-prepared
    // on every bind: each kept read statement was parsed and planned again
    // per query (measured: one re-prepare per REQ, about twice the time the
    // query itself ran). The engine's plans are shapes, not values.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_QPSG, 1, nullptr);
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
  ~SqliteDb() {
    finalize_all();
    sqlite3_close(db_);
  }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* handle() { return db_; }

  bool exec_script(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  // Runs one statement; appends its encoded result. Returns false with
  // `error` set on error. The statement's text is prepared once and kept
  // (SQLITE_PREPARE_PERSISTENT, keyed by the text: the engine's SQL comes from
  // a fixed set of shapes, so the cache stays small; it is emptied past
  // kMaxPrepared anyway). Borrows `st` for the call.
  bool run(const SqlStatement& st, std::string& out, std::string& error) {
    sqlite3_stmt* s = prepared(st.sql, error);
    if (!s) return false;
    int i = 1;
    for (const SqlParam& p : st.params) {
      switch (p.kind) {
        case SqlParam::Kind::text:  // static: `st` outlives the step; cleared below
          sqlite3_bind_text(s, i, p.text.data(), static_cast<int>(p.text.size()), SQLITE_STATIC);
          break;
        case SqlParam::Kind::integer:
          sqlite3_bind_int64(s, i, p.integer);
          break;
        case SqlParam::Kind::null:
          sqlite3_bind_null(s, i);
          break;
      }
      ++i;
    }
    const size_t head = out.size();
    u32(out, 0);  // changes, patched below
    u32(out, 0);  // rows, patched below
    u32(out, 0);  // columns, patched below
    // Columns are counted after a step: a kept statement that SQLite
    // re-prepares there (the schema changed) may have a different number.
    int cols = 0;
    uint32_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (rows++ == 0) cols = sqlite3_column_count(s);
      for (int c = 0; c < cols; ++c) {
        if (sqlite3_column_type(s, c) == SQLITE_NULL) {
          u32(out, 0xffffffffu);
          continue;
        }
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        const auto n = static_cast<uint32_t>(sqlite3_column_bytes(s, c));
        u32(out, n);
        out.append(t ? t : "", t ? n : 0);
      }
    }
    const bool ok = rc == SQLITE_DONE;
    if (!ok) {
      error = sqlite3_errmsg(db_);
      out.resize(head);
    } else {
      const uint32_t changes =
          sqlite3_stmt_readonly(s) ? 0 : static_cast<uint32_t>(sqlite3_changes(db_));
      if (rows == 0) cols = sqlite3_column_count(s);
      put_u32(out, head, changes);
      put_u32(out, head + 4, rows);
      put_u32(out, head + 8, static_cast<uint32_t>(cols));
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ok;
  }

  // Runs `stmts` in one transaction (like D1 batch). Returns false and rolls
  // back on error. `fail_at` is for fault tests: statement fail_at (0-based)
  // fails as if D1 refused it, after 0..fail_at-1 ran, and the whole batch
  // rolls back (a D1 batch is atomic).
  bool run_batch(const std::vector<SqlStatement>& stmts, std::string& out, std::string& error,
                 size_t fail_at = SIZE_MAX) {
    out.clear();
    u32(out, static_cast<uint32_t>(stmts.size()));
    // One read-only statement is atomic on its own: no transaction to open
    // and commit (a stored query's read, a COUNT), two fewer steps per read.
    if (stmts.size() == 1 && fail_at != 0) {
      sqlite3_stmt* s = prepared(stmts[0].sql, error);
      if (!s) return false;
      if (sqlite3_stmt_readonly(s)) return run(stmts[0], out, error);
    }
    if (!step_kept("BEGIN")) {
      error = std::string("BEGIN failed: ") + sqlite3_errmsg(db_);
      return false;
    }
    for (size_t i = 0; i < stmts.size(); ++i) {
      if (i == fail_at) {
        exec_script("ROLLBACK");
        error =
            "D1_ERROR: injected failure at statement " + std::to_string(fail_at) + " of the batch";
        return false;
      }
      if (!run(stmts[i], out, error)) {
        exec_script("ROLLBACK");
        return false;
      }
    }
    // The statements may all succeed in the page cache and the COMMIT still
    // fail (a full disk, an unwritable WAL): then nothing was stored, and the
    // batch must say so, or its events would be answered OK true.
    if (!step_kept("COMMIT")) {
      error = std::string("COMMIT failed: ") + sqlite3_errmsg(db_);
      if (!sqlite3_get_autocommit(db_)) exec_script("ROLLBACK");  // SQLITE_BUSY leaves it open
      return false;
    }
    return true;
  }

  // Runs a single statement (results of one statement).
  bool run_one(const SqlStatement& st, std::string& out, std::string& error) {
    out.clear();
    u32(out, 1);
    return run(st, out, error);
  }

  // Returns the EXPLAIN QUERY PLAN detail lines for a statement.
  std::string explain(const SqlStatement& st) {
    sqlite3_stmt* s = nullptr;
    const std::string q = "EXPLAIN QUERY PLAN " + st.sql;
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

  // Distinct statement texts kept prepared at most (then all are finalized).
  static constexpr size_t kMaxPrepared = 512;
  size_t prepared_count() const { return prepared_.size(); }
  // Times the kept statements were re-prepared by SQLite (a schema change,
  // or a plan that depended on a bound value): for tests.
  uint64_t reprepares() const {
    uint64_t n = 0;
    for (const auto& [sql, s] : prepared_)
      n += static_cast<uint64_t>(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_REPREPARE, 0));
    return n;
  }

 private:
  // Runs a kept statement without results (BEGIN, COMMIT): prepared once,
  // not parsed at every batch. Returns whether it succeeded.
  bool step_kept(const std::string& sql) {
    std::string error;
    sqlite3_stmt* s = prepared(sql, error);
    if (!s) return false;
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
  }
  // The prepared statement for `sql` (kept), or nullptr with `error` set.
  sqlite3_stmt* prepared(const std::string& sql, std::string& error) {
    if (auto it = prepared_.find(sql); it != prepared_.end()) return it->second;
    if (prepared_.size() >= kMaxPrepared) finalize_all();
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      sqlite3_finalize(s);
      return nullptr;
    }
    if (!s) {  // only whitespace or a comment: nothing to run
      error = "empty statement";
      return nullptr;
    }
    prepared_.emplace(sql, s);
    return s;
  }
  void finalize_all() {
    for (auto& [sql, s] : prepared_) sqlite3_finalize(s);
    prepared_.clear();
  }
  static void put_u32(std::string& out, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (8 * i));
  }
  static void u32(std::string& out, uint32_t v) {
    const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
    out.append(b, 4);
  }
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> prepared_;
};

}  // namespace nostr::sqlite
