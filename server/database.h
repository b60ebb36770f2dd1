// The native server's event store: a SQLite file in WAL mode with the D1
// schema (schema.sql, embedded and applied at every open: every statement is
// idempotent).
#pragma once

#include <string>

#include "server/sqlite_exec.h"

namespace nostr::server {

// Opens (creating it and its directory if needed) the database at `path`.
// Returns false with `error` set on failure.
bool open_database(sqlite::SqliteDb& db, const std::string& path, std::string& error);

}  // namespace nostr::server
