// The native host: one port serving HTTP (NIP-11, the relay page, /health,
// /metrics, /stats, NIP-86) and WebSockets (the relay), the engine
// (durable::Relay) on one thread, events in a SQLite file (WAL) running the
// engine's store plans, the engine's local state in an in-memory SQLite.
// Boost.Beast/Asio (Debian's libboost1.81-dev): maintained, header-only, and
// HTTP and WebSocket on one socket with one event loop.
#pragma once

#include <memory>
#include <string>

#include "server/config.h"

namespace nostr::server {

class Server {
 public:
  // Opens the database (creating it and its directory, applying the schema).
  // Returns nullptr with `error` set on failure.
  static std::unique_ptr<Server> create(const Loaded& config, std::string& error);
  virtual ~Server() = default;
  // Binds, prints the ws:// URL, and serves until SIGINT/SIGTERM; then stops
  // accepting, lets in-flight writes finish, and closes sockets with 1001.
  // Returns the process exit code.
  virtual int run() = 0;
};

}  // namespace nostr::server
