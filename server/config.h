// The native server's configuration: relay.toml (same keys as RELAY_CONFIG,
// plus a [server] table), then environment overrides. One definition of the
// relay keys: the TOML is turned into RELAY_CONFIG JSON and given to
// core/config.h parse_config, so both hosts accept exactly the same settings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/address.h"
#include "core/config.h"

namespace nostr::server {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 7447;
  std::string database = "data/relay.sqlite3";
  // Threads verifying events (the engine and the store have one each); 1: the
  // engine's thread verifies. 0 here means "one per core" (load_config sets it).
  unsigned threads = 0;
  std::string metrics_token;  // GET /stats and /metrics need it as a Bearer token; empty: 404
  // Reverse proxies whose X-Forwarded-For / Forwarded (and X-Forwarded-Host /
  // -Proto) headers are believed: addresses or CIDR ranges (server/proxy.h has
  // the rule). Empty: the TCP peer is the client, whatever headers say.
  AddressSet trusted_proxies;
};

struct Loaded {
  ServerOptions server;
  RelayConfig relay;
};

// Reads `toml_text` (may be empty: every default), then the environment
// through `getenv`: PORT, BIND, DATABASE, THREADS, METRICS_TOKEN, TRUSTED_PROXIES
// (comma-separated; replaces the file's list), ADMIN_PUBKEYS (as on
// Workers) and RELAY_CONFIG (a JSON object whose top-level keys replace the
// file's). Returns the configuration, or in `error` a message naming the key.
std::optional<Loaded> load_config(const std::string& toml_text, const char* (*getenv)(const char*),
                                  std::string& error);

}  // namespace nostr::server
