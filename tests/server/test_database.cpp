// server/database: the schema is applied to a new or older database, and not
// again at every start (its backfills scan every event).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "server/database.h"

namespace {

size_t tables_named(nostr::sqlite::SqliteDb& db, const std::string& name) {
  std::string out, err;
  REQUIRE(db.run_one({"SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                      {nostr::SqlParam::of(name)}},
                     out, err));
  return out.find(name) == std::string::npos ? 0 : 1;
}

}  // namespace

TEST_CASE("database: schema applied once per version of schema.sql") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("nr-db-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::string file = (dir / "sub" / "relay.sqlite3").string();  // the directory is created
  std::string error;
  {
    nostr::sqlite::SqliteDb db;
    REQUIRE(nostr::server::open_database(db, file, error));
    CHECK(tables_named(db, "events") == 1);
    CHECK(tables_named(db, "search_kinds") == 1);
    REQUIRE(db.exec_script("DROP TABLE search_kinds"));
  }
  {
    // Same schema.sql: not applied again, so the dropped table stays away.
    nostr::sqlite::SqliteDb db;
    REQUIRE(nostr::server::open_database(db, file, error));
    CHECK(tables_named(db, "search_kinds") == 0);
    REQUIRE(db.exec_script("PRAGMA user_version = 12345"));  // as if an older schema.sql made it
  }
  {
    nostr::sqlite::SqliteDb db;
    REQUIRE(nostr::server::open_database(db, file, error));
    CHECK(tables_named(db, "search_kinds") == 1);
  }
  std::filesystem::remove_all(dir);
}
