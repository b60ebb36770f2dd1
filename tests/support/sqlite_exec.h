// Test support: the SQLite statement runner the native server uses
// (server/sqlite_exec.h), under the test namespace.
#pragma once

#include "server/sqlite_exec.h"

namespace nostr::test {
using sqlite::SqliteDb;
}  // namespace nostr::test
