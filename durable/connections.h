// Connections: the open sockets and HTTP API calls the engine serves, by id.
// Owns each Connection and the bookkeeping across them: how many sockets each
// remote address holds (limits.max_connections_per_ip; API calls are not
// sockets and are not counted), the NIP-42 AUTH deadlines in time order, and
// the ids API calls get (from kFirstApiConn up, so no host socket id is
// taken). It says nothing to clients: the engine answers and decides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "durable/conn_id.h"
#include "durable/connection.h"

namespace nostr::durable {

class Connections {
 public:
  using Map = std::unordered_map<ConnId, Connection>;

  // Returns conn's Connection, or nullptr if it is not open. The pointer is
  // valid until conn is removed.
  Connection* find(ConnId conn);
  const Connection* find(ConnId conn) const;
  // conn must be open (asserted).
  Connection& at(ConnId conn);
  bool contains(ConnId conn) const { return conns_.count(conn) != 0; }

  // Registers conn (asserted not open) with `meta`. A socket (an id below
  // kFirstApiConn) is counted against its address from here until remove().
  Connection& add(ConnId conn, ConnMeta meta);
  // Unregisters conn (no-op if not open) with its AUTH deadline and address
  // count. The engine releases what it held (subscriptions, budgets) first.
  void remove(ConnId conn);

  // Sockets open from the address of `ip` (address_key: an IPv6 address by
  // its /64); 0 for an unknown address.
  uint32_t from_address(std::string_view ip) const;
  size_t sockets() const { return conns_.size() - api_calls_; }
  size_t size() const { return conns_.size(); }
  // A fresh id for an HTTP API call's connection.
  ConnId next_api_id() { return next_api_conn_++; }

  // Replaces conn's NIP-42 AUTH deadline (0: none); conn must be open.
  void set_auth_deadline(ConnId conn, uint64_t due);
  // Returns an open connection whose AUTH deadline is at or before `now`.
  std::optional<ConnId> auth_expired(uint64_t now) const;
  // Returns the earliest AUTH deadline, or 0 if none.
  uint64_t next_auth_deadline() const;

  Map::iterator begin() { return conns_.begin(); }
  Map::iterator end() { return conns_.end(); }
  Map::const_iterator begin() const { return conns_.begin(); }
  Map::const_iterator end() const { return conns_.end(); }

 private:
  Map conns_;
  size_t api_calls_ = 0;
  // Sockets per address key (known addresses only; at most one entry per
  // socket).
  std::unordered_map<std::string, uint32_t> per_address_;
  std::set<std::pair<uint64_t, ConnId>> auth_deadlines_;  // (deadline, conn)
  ConnId next_api_conn_ = kFirstApiConn;
};

}  // namespace nostr::durable
