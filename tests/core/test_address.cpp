// The address model (core/address.h): parsing, canonical text, CIDR ranges,
// the per-address key, and relay URL hosts (NIP-42 / NIP-62 comparisons).
#include <doctest/doctest.h>

#include "core/address.h"

using nostr::AddressRange;
using nostr::AddressSet;
using nostr::IpAddress;

namespace {
std::string canon(const char* s) {
  auto a = IpAddress::parse(s);
  return a ? a->str() : "<none>";
}
std::string range(const char* s) {
  auto r = AddressRange::parse(s);
  return r ? r->str() : "<none>";
}
bool in(const char* r, const char* a) {
  return AddressRange::parse(r)->contains(*IpAddress::parse(a));
}
}  // namespace

TEST_CASE("IpAddress: IPv4 and IPv6 in every spelling, one canonical text, nothing else") {
  CHECK(canon("203.0.113.7") == "203.0.113.7");
  CHECK(canon("::ffff:203.0.113.7") == "203.0.113.7");  // IPv4-mapped is the IPv4 client
  CHECK(canon("2001:0DB8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");
  CHECK(canon("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");  // the first of equal runs
  CHECK(canon("::") == "::");
  CHECK(canon("::1") == "::1");
  CHECK(canon("[2001:db8::1]") == "2001:db8::1");
  CHECK(canon("fe80::1%eth0") == "fe80::1");
  CHECK(canon("1:2:3:4:5:6:7:8") == "1:2:3:4:5:6:7:8");
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "example.com", "1::2::3",
        "1:2:3:4:5:6:7:8:9", "12345::", "1.2.3.4:80", "::ffff:1.2.3", "[::1", "fe80::1%"}) {
    CHECK_MESSAGE(!IpAddress::parse(bad), bad);
  }
}

TEST_CASE("AddressRange: CIDR for both families, host bits cleared, a plain address is itself") {
  CHECK(range("10.1.2.3/8") == "10.0.0.0/8");
  CHECK(range("2001:DB8:1:2::/48") == "2001:db8:1::/48");
  CHECK(range("198.51.100.4") == "198.51.100.4");
  CHECK(range("::ffff:10.0.0.0/104") == "10.0.0.0/8");  // the mapped form is the IPv4 range
  CHECK(range("0.0.0.0/0") == "0.0.0.0/0");
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/x", "host/8", "/8"}) {
    CHECK_MESSAGE(!AddressRange::parse(bad), bad);
  }
  CHECK(in("10.0.0.0/8", "10.255.1.2"));
  CHECK(!in("10.0.0.0/8", "11.0.0.1"));
  CHECK(in("2001:db8::/48", "2001:db8:0:ffff::1"));
  CHECK(!in("2001:db8::/48", "2001:db8:1::1"));
  CHECK(in("203.0.113.7", "::ffff:203.0.113.7"));
  CHECK(!in("0.0.0.0/0", "2001:db8::1"));  // IPv4 ranges hold only IPv4 clients
  CHECK(in("::/0", "203.0.113.7"));
  AddressSet set;
  set.add(*AddressRange::parse("2001:db8::/32"));
  set.add(*AddressRange::parse("2001:db8::/32"));  // once
  CHECK(set.size() == 1);
  CHECK(set.contains(std::string_view("2001:db8:5::9")));
  CHECK(!set.contains(std::string_view("not an address")));
  CHECK(set.remove(*AddressRange::parse("2001:0db8::/32")));
  CHECK(set.empty());
}

TEST_CASE("address_key: IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4, other text unchanged") {
  using nostr::address_key;
  CHECK(address_key("203.0.113.7") == "203.0.113.7");
  CHECK(address_key("2001:db8:0:1::7") == "2001:db8:0:1::/64");
  CHECK(address_key("2001:0DB8:0000:0001:ffff:0:0:1") == "2001:db8:0:1::/64");
  CHECK(address_key("2001:db8::1") == "2001:db8::/64");
  CHECK(address_key("::1") == "::/64");
  CHECK(address_key("fe80::1%eth0") == "fe80::/64");
  CHECK(address_key("::ffff:198.51.100.4") == "198.51.100.4");
  CHECK(address_key("not:an:address") == "not:an:address");
  CHECK(address_key("") == "");
}

TEST_CASE(
    "relay URL hosts: scheme, port and path ignored; user info, junk and other schemes refused") {
  using nostr::authority_host;
  using nostr::relay_url_host;
  CHECK(relay_url_host("wss://Relay.Example.com:443/x?y#z") == "relay.example.com");
  CHECK(relay_url_host("ws://127.0.0.1:8787") == "127.0.0.1");
  CHECK(relay_url_host("wss://relay.example.com.") == "relay.example.com");
  CHECK(relay_url_host("ws://[0:0::1]:7447/") == "[::1]");
  CHECK(relay_url_host("https://relay.example.com") == "relay.example.com");
  // The held-out attack: everything before '@' is user info; the host is evil.example.
  CHECK(!relay_url_host("wss://relay.example.com:1@evil.example/"));
  CHECK(!relay_url_host("wss://user@relay.example.com/"));
  for (const char* bad :
       {"relay.example.com", "ftp://relay.example.com", "wss://", "wss://:443", "wss://a..b",
        "wss://relay.example.com:x", "wss://relay example.com", "wss://[::1", "wss://[nope]:1"}) {
    CHECK_MESSAGE(!relay_url_host(bad), bad);
  }
  CHECK(authority_host("relay.example.com:8443") == "relay.example.com");
  CHECK(authority_host("[::1]:7447") == "[::1]");
  CHECK(!authority_host("a@b"));
  CHECK(!authority_host(""));
}
