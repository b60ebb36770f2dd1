// The statement runner (server/sqlite_exec.h): typed parameters, the ABI
// results encoding, and the prepared statements it keeps.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/filter.h"
#include "core/read_plan.h"
#include "core/results.h"
#include "server/sqlite_exec.h"
#include "simdjson.h"

using nostr::ResultSet;
using nostr::SqlParam;
using nostr::SqlStatement;
using nostr::sqlite::SqliteDb;

namespace {

std::vector<ResultSet> parsed(const std::string& out) {
  std::vector<ResultSet> rs;
  REQUIRE(nostr::parse_results(out, rs));
  return rs;
}

}  // namespace

TEST_CASE(
    "sqlite exec: text, integers and a real NULL are bound; results say which cells are NULL") {
  SqliteDb db;
  REQUIRE(db.exec_script("CREATE TABLE t (a TEXT, b INTEGER, c TEXT)"));
  std::string out, err;
  REQUIRE_MESSAGE(
      db.run_batch(
          {{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
            {SqlParam::of(std::string("x\0y", 3)), SqlParam::of(int64_t{-7}), SqlParam::null()}}},
          out, err),
      err);
  auto rs = parsed(out);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].changes == 1);
  REQUIRE(db.run_one({"SELECT a, b, c, c IS NULL FROM t", {}}, out, err));
  rs = parsed(out);
  REQUIRE(rs[0].rows == 1);
  CHECK(rs[0].cell(0, 0) == std::string_view("x\0y", 3));  // bytes, NUL included
  CHECK(rs[0].cell(0, 1) == "-7");
  CHECK(rs[0].is_null(0, 2));
  CHECK(rs[0].cell(0, 3) == "1");
}

TEST_CASE("sqlite exec: a statement's text is prepared once and reused, also after a failure") {
  SqliteDb db;
  REQUIRE(db.exec_script("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"));
  std::string out, err;
  const std::string insert = "INSERT INTO t (k, v) VALUES (?, ?)";
  for (int64_t k = 1; k <= 20; ++k)
    REQUIRE(
        db.run_one({insert, {SqlParam::of(k), SqlParam::of("v" + std::to_string(k))}}, out, err));
  CHECK(db.prepared_count() == 1);
  // A constraint failure leaves the kept statement reset and usable.
  CHECK_FALSE(
      db.run_one({insert, {SqlParam::of(int64_t{1}), SqlParam::of(std::string("dup"))}}, out, err));
  CHECK(err.find("UNIQUE") != std::string::npos);
  REQUIRE(db.run_one({insert, {SqlParam::of(int64_t{21}), SqlParam::null()}}, out, err));
  REQUIRE(db.run_one({"SELECT COUNT(*) FROM t WHERE v IS NULL", {}}, out, err));
  CHECK(parsed(out)[0].cell(0, 0) == "1");  // row 21 only
  // A kept statement run with fewer parameters this time gets NULL, not the
  // previous call's values (bindings are cleared after every run).
  const std::string probe = "SELECT ? IS NULL";
  REQUIRE(db.run_one({probe, {SqlParam::of(int64_t{5})}}, out, err));
  CHECK(parsed(out)[0].cell(0, 0) == "0");
  REQUIRE(db.run_one({probe, {}}, out, err));
  CHECK(parsed(out)[0].cell(0, 0) == "1");
  CHECK(db.prepared_count() == 3);
}

TEST_CASE("sqlite exec: a kept read is not re-prepared when its bound values change") {
  // Regression: SQLite re-prepared a kept statement on every bind once its
  // planner had compared a parameter with a literal; each stored query (here
  // the #e shape on the real schema) was parsed and planned again.
  SqliteDb db(std::string(NOSTR_SOURCE_DIR) + "/schema.sql");
  simdjson::dom::parser p;
  simdjson::dom::element el;
  REQUIRE(
      p.parse(std::string(
                  R"({"#e":["026d5061a006b32a89ae7e4f905b4589e71dc701246af13dccff5e7d6ff66920"]})"))
          .get(el) == simdjson::SUCCESS);
  auto f = nostr::CompiledFilter::compile(el, nostr::Limits{});
  REQUIRE(f);
  std::string out, err;
  for (uint64_t now = 1700000000; now < 1700000020; ++now) {
    auto st = nostr::plan_query(f.value(), nostr::Limits{}, now, 262144, {});
    REQUIRE(st);
    REQUIRE(db.run_one(st.value(), out, err));
  }
  CHECK(db.prepared_count() == 1);
  CHECK(db.reprepares() == 0);
}

TEST_CASE("sqlite exec: kept statements follow schema changes, and their number is bounded") {
  SqliteDb db;
  REQUIRE(db.exec_script("CREATE TABLE t (a INTEGER)"));
  std::string out, err;
  REQUIRE(db.run_one({"SELECT * FROM t", {}}, out, err));
  CHECK(parsed(out)[0].cols == 1);
  REQUIRE(db.exec_script("ALTER TABLE t ADD COLUMN b INTEGER"));
  REQUIRE(db.run_one({"SELECT * FROM t", {}}, out, err));
  CHECK(parsed(out)[0].cols == 2);  // re-prepared by SQLite, not stale
  for (size_t i = 0; i < SqliteDb::kMaxPrepared + 10; ++i)
    REQUIRE(db.run_one({"SELECT " + std::to_string(i), {}}, out, err));
  CHECK(db.prepared_count() <= SqliteDb::kMaxPrepared);
  CHECK(db.prepared_count() >= 10);
}
