// The engine's local SQL schema (DO SQLite on Cloudflare), as numbered
// migrations. Relay::restore reads the version the database is at (table
// schema_version) and applies the missing ones in order, once each.
// Append only: a deployed object may be at any earlier version.
#pragma once

#include <string_view>

namespace nostr::durable {

inline constexpr std::string_view kLocalMigrations[] = {
    // 1: subscriptions of connections whose state outgrew ConnState::kMaxBytes.
    // IF NOT EXISTS: objects from before versioning already have it.
    "CREATE TABLE IF NOT EXISTS subs (conn INTEGER NOT NULL, sub TEXT NOT NULL,"
    " filters TEXT NOT NULL, PRIMARY KEY (conn, sub))",
    // 2: times of durable timers (the NIP-40 expiry sweep), kept across hibernation.
    "CREATE TABLE IF NOT EXISTS timers (name TEXT NOT NULL PRIMARY KEY, at INTEGER NOT NULL)",
};

}  // namespace nostr::durable
