#include "durable/connections.h"

#include <cassert>

#include "core/address.h"

namespace nostr::durable {

namespace {
bool is_socket(ConnId conn) { return conn < kFirstApiConn; }
}  // namespace

Connection* Connections::find(ConnId conn) {
  auto it = conns_.find(conn);
  return it == conns_.end() ? nullptr : &it->second;
}

const Connection* Connections::find(ConnId conn) const {
  auto it = conns_.find(conn);
  return it == conns_.end() ? nullptr : &it->second;
}

Connection& Connections::at(ConnId conn) {
  Connection* c = find(conn);
  assert(c && "Connections::at: not open");
  return *c;
}

Connection& Connections::add(ConnId conn, ConnMeta meta) {
  auto [it, added] = conns_.try_emplace(conn);
  assert(added && "Connections::add: already open");
  (void)added;
  Connection& c = it->second;
  c.meta = std::move(meta);
  if (!is_socket(conn))
    ++api_calls_;
  else if (!c.meta.ip.empty())
    ++per_address_[address_key(c.meta.ip)];
  return c;
}

void Connections::remove(ConnId conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.auth_deadline != 0) auth_deadlines_.erase({it->second.auth_deadline, conn});
  if (!is_socket(conn)) {
    --api_calls_;
  } else if (const std::string& ip = it->second.meta.ip; !ip.empty()) {
    auto n = per_address_.find(address_key(ip));
    if (n != per_address_.end() && --n->second == 0) per_address_.erase(n);
  }
  conns_.erase(it);
}

uint32_t Connections::from_address(std::string_view ip) const {
  if (ip.empty()) return 0;
  auto it = per_address_.find(address_key(ip));
  return it == per_address_.end() ? 0 : it->second;
}

void Connections::set_auth_deadline(ConnId conn, uint64_t due) {
  Connection& c = at(conn);
  if (c.auth_deadline != 0) auth_deadlines_.erase({c.auth_deadline, conn});
  c.auth_deadline = due;
  if (due != 0) auth_deadlines_.emplace(due, conn);
}

std::optional<ConnId> Connections::auth_expired(uint64_t now) const {
  if (auth_deadlines_.empty() || auth_deadlines_.begin()->first > now) return std::nullopt;
  return auth_deadlines_.begin()->second;
}

uint64_t Connections::next_auth_deadline() const {
  return auth_deadlines_.empty() ? 0 : auth_deadlines_.begin()->first;
}

}  // namespace nostr::durable
