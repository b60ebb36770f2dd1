// Connections (durable/connections.h): the bookkeeping across open
// connections, without an engine.
#include <doctest/doctest.h>

#include "durable/connections.h"

using nostr::ConnMeta;
using nostr::durable::Connections;
using nostr::durable::ConnId;
using nostr::durable::kFirstApiConn;

TEST_CASE("Connections: sockets are counted by address (an IPv6 /64 is one), API calls are not") {
  Connections cs;
  const ConnMeta a{"198.51.100.1", "", "", ""};
  const ConnMeta v6a{"2001:db8:1:2::10", "", "", ""}, v6b{"2001:db8:1:2::99", "", "", ""};
  cs.add(1, a);
  cs.add(2, a);
  cs.add(3, v6a);
  cs.add(4, v6b);
  cs.add(5, {});
  const ConnId call = cs.next_api_id();
  CHECK(call == kFirstApiConn);
  CHECK(cs.next_api_id() == kFirstApiConn + 1);
  cs.add(call, a);
  CHECK(cs.from_address("198.51.100.1") == 2);
  CHECK(cs.from_address("2001:db8:1:2::1") == 2);
  CHECK(cs.from_address("") == 0);
  CHECK(cs.from_address("203.0.113.9") == 0);
  CHECK(cs.sockets() == 5);
  CHECK(cs.size() == 6);
  cs.remove(call);  // an API call's end frees no socket place
  CHECK(cs.from_address("198.51.100.1") == 2);
  CHECK(cs.sockets() == 5);
  cs.remove(1);
  cs.remove(1);  // twice is harmless
  CHECK(cs.from_address("198.51.100.1") == 1);
  cs.remove(2);
  CHECK(cs.from_address("198.51.100.1") == 0);
  CHECK(cs.find(2) == nullptr);
  CHECK(cs.find(3) != nullptr);
  CHECK(cs.sockets() == 3);
}

TEST_CASE("Connections: AUTH deadlines come out in time order and go with their connection") {
  Connections cs;
  for (ConnId c : {1, 2, 3}) cs.add(c, {});
  CHECK(cs.next_auth_deadline() == 0);
  CHECK_FALSE(cs.auth_expired(1000));
  cs.set_auth_deadline(1, 300);
  cs.set_auth_deadline(2, 100);
  cs.set_auth_deadline(3, 200);
  cs.set_auth_deadline(3, 400);  // replaced, not added
  CHECK(cs.next_auth_deadline() == 100);
  CHECK_FALSE(cs.auth_expired(99));
  CHECK(cs.auth_expired(100) == ConnId{2});
  cs.remove(2);
  CHECK(cs.auth_expired(250) == std::nullopt);
  CHECK(cs.auth_expired(300) == ConnId{1});
  cs.set_auth_deadline(1, 0);  // authenticated: no deadline
  CHECK(cs.next_auth_deadline() == 400);
  CHECK(cs.at(3).auth_deadline == 400);
  cs.remove(3);
  CHECK(cs.next_auth_deadline() == 0);
}
