// The engine's local SQL schema (DO SQLite on Cloudflare), as numbered
// migrations. Relay::restore reads the version the database is at (table
// schema_version) and applies the missing ones in order. Idempotent ones
// (CREATE ... IF NOT EXISTS) run at every wake as well, so an object whose
// table went missing heals instead of failing at each wake; the others
// (ALTER, data moves) run exactly once. Append only: a deployed object may be
// at any earlier version.
#pragma once

#include <string_view>

namespace nostr::durable {

struct LocalMigration {
  std::string_view sql;
  bool idempotent;  // safe to run again: runs at every wake
};

inline constexpr LocalMigration kLocalMigrations[] = {
    // 1: subscriptions of connections whose state outgrew ConnState::kMaxBytes.
    // (Objects from before versioning already have it.)
    {"CREATE TABLE IF NOT EXISTS subs (conn INTEGER NOT NULL, sub TEXT NOT NULL,"
     " filters TEXT NOT NULL, PRIMARY KEY (conn, sub))",
     true},
    // 2: times of durable timers (the NIP-40 expiry sweep), kept across hibernation.
    {"CREATE TABLE IF NOT EXISTS timers (name TEXT NOT NULL PRIMARY KEY, at INTEGER NOT NULL)",
     true},
    // 3: rate-limit buckets per address / pubkey ("ei:", "ep:", "ri:", "rp:" + key).
    {"CREATE TABLE IF NOT EXISTS buckets (key TEXT NOT NULL PRIMARY KEY, milli INTEGER NOT NULL, "
     "at INTEGER NOT NULL)",
     true},
    // 4: counters that outlive the engine's memory (wakes).
    {"CREATE TABLE IF NOT EXISTS counters (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL)",
     true},
};

}  // namespace nostr::durable
