// server/proxy: who the client is behind trusted_proxies, and the host,
// scheme and URL a request reached.
#include <doctest/doctest.h>

#include <string>

#include "server/proxy.h"

using nostr::AddressRange;
using nostr::AddressSet;
using nostr::server::client_address;
using nostr::server::client_view;
using nostr::server::ClientView;
using nostr::server::forwarded_node;
using nostr::server::ProxyHeaders;
using nostr::server::request_url;

namespace {

AddressSet ranges(std::initializer_list<const char*> texts) {
  AddressSet out;
  for (const char* t : texts) out.add(*AddressRange::parse(t));
  return out;
}

}  // namespace

TEST_CASE("proxy: forwarding headers count only from a trusted peer") {
  const AddressSet none;
  const AddressSet local = ranges({"127.0.0.1"});
  // No trusted proxies (the default): the peer, whatever the headers say.
  CHECK(client_address("198.51.100.9", "203.0.113.7", "for=203.0.113.8", none) == "198.51.100.9");
  // A peer that is not trusted: the same.
  CHECK(client_address("198.51.100.9", "203.0.113.7", "", local) == "198.51.100.9");
  // A trusted peer: the address it forwards.
  CHECK(client_address("127.0.0.1", "203.0.113.7", "", local) == "203.0.113.7");
  // IPv4-mapped peers (a dual-stack "::" listener) are their IPv4 address.
  CHECK(client_address("::ffff:127.0.0.1", "203.0.113.7", "", local) == "203.0.113.7");
  CHECK(client_address("::ffff:198.51.100.9", "", "", none) == "198.51.100.9");
  // A trusted peer forwarding nothing is the client itself.
  CHECK(client_address("127.0.0.1", "", "", local) == "127.0.0.1");
  CHECK(client_address("127.0.0.1", "  ", "", local) == "127.0.0.1");
  // A peer that is not an address (should not happen) is passed on as is.
  CHECK(client_address("", "203.0.113.7", "", local) == "");
}

TEST_CASE("proxy: X-Forwarded-For, the rightmost address that is not a trusted proxy") {
  const AddressSet trusted = ranges({"127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"});
  // What the client put on the left is not believed.
  CHECK(client_address("127.0.0.1", "198.51.100.1, 203.0.113.7", "", trusted) == "203.0.113.7");
  // Trusted hops on the right are skipped.
  CHECK(client_address("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.0.2, 10.9.9.9", "", trusted) ==
        "203.0.113.7");
  CHECK(client_address("10.1.1.1", "2001:db8::5,2001:db8:ffff::1", "", trusted) == "2001:db8::5");
  // Every hop trusted: the leftmost.
  CHECK(client_address("127.0.0.1", "10.0.0.5, 10.0.0.2", "", trusted) == "10.0.0.5");
  // Something that is not an address ends the walk at the last trusted hop.
  CHECK(client_address("127.0.0.1", "203.0.113.7, unknown", "", trusted) == "127.0.0.1");
  CHECK(client_address("127.0.0.1", "203.0.113.7, garbage, 10.0.0.2", "", trusted) == "10.0.0.2");
  CHECK(client_address("127.0.0.1", "203.0.113.7, , 10.0.0.2", "", trusted) == "10.0.0.2");
  // Ports, brackets and spellings.
  CHECK(client_address("127.0.0.1", "203.0.113.7:5555", "", trusted) == "203.0.113.7");
  CHECK(client_address("127.0.0.1", "[2001:DB8::1]:443", "", trusted) == "2001:db8::1");
  CHECK(client_address("127.0.0.1", "2001:db8:0:0::1", "", trusted) == "2001:db8::1");
  CHECK(client_address("127.0.0.1", "::ffff:203.0.113.7", "", trusted) == "203.0.113.7");
  // X-Forwarded-For wins over Forwarded when both are present.
  CHECK(client_address("127.0.0.1", "203.0.113.7", "for=198.51.100.1", trusted) == "203.0.113.7");
}

TEST_CASE("proxy: RFC 7239 Forwarded for=") {
  const AddressSet trusted = ranges({"127.0.0.1", "10.0.0.0/8"});
  auto fwd = [&](const char* value) { return client_address("127.0.0.1", "", value, trusted); };
  CHECK(fwd("for=192.0.2.60;proto=http;by=203.0.113.43") == "192.0.2.60");
  CHECK(fwd("For=\"[2001:db8:cafe::17]:4711\"") == "2001:db8:cafe::17");
  CHECK(fwd("for=\"[2001:db8:cafe::17]\"") == "2001:db8:cafe::17");
  CHECK(fwd("for=\"192.0.2.60:8080\"") == "192.0.2.60");
  CHECK(fwd("for=192.0.2.43, for=198.51.100.17") == "198.51.100.17");
  CHECK(fwd("for=192.0.2.43, for=\"[2001:db8:cafe::17]\";proto=https, for=10.1.1.1") ==
        "2001:db8:cafe::17");
  CHECK(fwd("for=198.51.100.1, for=10.2.2.2;by=10.3.3.3") == "198.51.100.1");
  CHECK(fwd(" for = 192.0.2.60 ") == "127.0.0.1");  // no spaces around '=' (RFC 7239 grammar)
  CHECK(fwd("proto=https;for=192.0.2.60") == "192.0.2.60");
  CHECK(fwd("for=\"192.0.2.60\\\"\"") == "127.0.0.1");  // a quoted value that is not an address
  // Obfuscated identifiers and "unknown" are not addresses: the last trusted hop.
  CHECK(fwd("for=_gazonk") == "127.0.0.1");
  CHECK(fwd("for=\"_gazonk\"") == "127.0.0.1");
  CHECK(fwd("for=unknown") == "127.0.0.1");
  CHECK(fwd("for=192.0.2.43, for=unknown") == "127.0.0.1");
  CHECK(fwd("for=192.0.2.43, for=_hidden, for=10.0.0.1") == "10.0.0.1");
  CHECK(fwd("for=\"[2001:db8:cafe::17]:_port\"") == "2001:db8:cafe::17");
  // An element without for=, and malformed ones.
  CHECK(fwd("proto=https") == "127.0.0.1");
  CHECK(fwd("for=\"[2001:db8::17]") == "127.0.0.1");
  CHECK(fwd("for") == "127.0.0.1");
  CHECK(fwd("for=192.0.2.1 junk") == "127.0.0.1");
  // A malformed element on the left does not hide the right ones.
  CHECK(fwd("for=\"x,y, for=198.51.100.4") ==
        "127.0.0.1");  // the quote runs to the end: one bad element
  CHECK(fwd("junk, for=198.51.100.4") == "198.51.100.4");
  CHECK(fwd("for=\"a,b\", for=198.51.100.4") == "198.51.100.4");
}

TEST_CASE("proxy: one forwarded node") {
  CHECK(forwarded_node("192.0.2.1")->str() == "192.0.2.1");
  CHECK(forwarded_node("192.0.2.1:80")->str() == "192.0.2.1");
  CHECK(forwarded_node("[::1]")->str() == "::1");
  CHECK(forwarded_node("[::1]:7447")->str() == "::1");
  CHECK(forwarded_node("::1")->str() == "::1");
  CHECK_FALSE(forwarded_node(""));
  CHECK_FALSE(forwarded_node("unknown"));
  CHECK_FALSE(forwarded_node("_secret"));
  CHECK_FALSE(forwarded_node("relay.example.com"));
  CHECK_FALSE(forwarded_node("192.0.2.1:http"));
  CHECK_FALSE(forwarded_node("[::1]x"));
  CHECK_FALSE(forwarded_node("256.0.0.1"));
}

TEST_CASE("proxy: host and scheme from a trusted proxy; the URL a request reached") {
  const AddressSet trusted = ranges({"127.0.0.1"});
  ProxyHeaders h;
  h.host = "127.0.0.1:7447";
  h.x_forwarded_for = "203.0.113.7";
  h.x_forwarded_host = "relay.example.com";
  h.x_forwarded_proto = "https";
  ClientView v = client_view("127.0.0.1", h, trusted);
  CHECK(v.ip == "203.0.113.7");
  CHECK(v.host == "relay.example.com");
  CHECK(v.https);
  CHECK(request_url("", v, "/") == "https://relay.example.com/");
  // The same headers from a peer that is not trusted: ignored.
  v = client_view("198.51.100.9", h, trusted);
  CHECK(v.ip == "198.51.100.9");
  CHECK(v.host == "127.0.0.1:7447");
  CHECK_FALSE(v.https);
  CHECK(request_url("", v, "/x?y") == "http://127.0.0.1:7447/x?y");
  // The last value of each (the nearest proxy's); a host that is not one is ignored.
  h.x_forwarded_host = "evil.example, relay.example.com:8443";
  h.x_forwarded_proto = "https, http";
  v = client_view("127.0.0.1", h, trusted);
  CHECK(v.host == "relay.example.com:8443");
  CHECK_FALSE(v.https);
  h.x_forwarded_host = "not a host/";
  CHECK(client_view("127.0.0.1", h, trusted).host == "127.0.0.1:7447");
  // Forwarded's host= and proto= when there are no X-Forwarded-Host/-Proto.
  h = ProxyHeaders{};
  h.host = "backend:7447";
  h.forwarded = "for=192.0.2.1;host=\"relay.example.org\";proto=https";
  v = client_view("127.0.0.1", h, trusted);
  CHECK(v.ip == "192.0.2.1");
  CHECK(v.host == "relay.example.org");
  CHECK(v.https);
  // With relay_url configured the URL is the public one, whatever Host says.
  h = ProxyHeaders{};
  h.host = "attacker.example";
  v = client_view("198.51.100.9", h, trusted);
  CHECK(request_url("wss://relay.example.test", v, "/") == "https://relay.example.test/");
  CHECK(request_url("ws://relay.example.test:7447/nostr", v, "/nostr") ==
        "http://relay.example.test:7447/nostr");
  CHECK(request_url("wss://[2001:db8::1]:443", v, "/") == "https://[2001:db8::1]:443/");
  // No Host header and no relay_url: the path alone (NIP-98 checks then fail).
  CHECK(request_url("", ClientView{}, "/") == "/");
}
