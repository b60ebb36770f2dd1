// The native server behind a reverse proxy: who the client is, and which URL
// it reached. Pure functions over the TCP peer and request headers.
//
// The rule (server.trusted_proxies, empty by default):
//   - A peer not in trusted_proxies is the client, whatever its headers say.
//   - From a trusted peer, the client is read from X-Forwarded-For (every
//     such header line, in order, joined by commas) or, when the request has
//     none, from RFC 7239 Forwarded's `for=` parameters. Walking that list
//     from its right end (the hop nearest this server), each address that is
//     itself in trusted_proxies is skipped; the first one that is not is the
//     client. An element that is not an address (Forwarded's "unknown", an
//     obfuscated "_identifier", an empty or malformed value) ends the walk:
//     the client is then the last trusted hop reached (the peer, at first),
//     since anything further left was written by someone not trusted. If every
//     address is trusted, the leftmost one is the client.
//   - Host and scheme: the Host header; from a trusted peer X-Forwarded-Host
//     and X-Forwarded-Proto (or Forwarded's host= / proto=) replace them, the
//     last value of each (the one the nearest proxy set).
// Addresses come back canonical (core/address.h: IPv4 dotted quad, IPv4-mapped
// IPv6 as IPv4, IPv6 per RFC 5952), so lists and per-address buckets see one
// spelling per client.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/address.h"

namespace nostr::server {

// The client's address for a request from TCP peer `peer` with the given
// X-Forwarded-For and Forwarded header values (each header's lines joined by
// ","; "" when absent). A peer that is not an address is returned as is.
std::string client_address(std::string_view peer, std::string_view x_forwarded_for,
                           std::string_view forwarded, const AddressSet& trusted);

// The headers client_view reads ("" when absent; repeated lines joined by ",").
struct ProxyHeaders {
  std::string_view host;
  std::string_view x_forwarded_for;
  std::string_view forwarded;
  std::string_view x_forwarded_host;
  std::string_view x_forwarded_proto;
};

// Who sent a request and what it reached.
struct ClientView {
  std::string ip;      // client_address()
  std::string host;    // the host (and port) the client reached, as sent; "" unknown
  bool https = false;  // the client reached the proxy over TLS (trusted proxies only say so)
};

ClientView client_view(std::string_view peer, const ProxyHeaders& headers,
                       const AddressSet& trusted);

// The URL a request for `target` ("/path?query") reached: with `relay_url`
// configured (ws:// or wss://), its http(s) form's scheme and authority plus
// `target` (so NIP-98 `u` is the public URL whatever Host says); otherwise
// the client view's scheme and host plus `target` ("" + target when the host
// is unknown).
std::string request_url(std::string_view relay_url, const ClientView& view,
                        std::string_view target);
// The origin part of request_url ("https://relay.example"), "" when unknown.
std::string request_origin(std::string_view relay_url, const ClientView& view);

// One X-Forwarded-For element or Forwarded `for=` value (quotes removed) as
// an address: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1",
// "[2001:db8::1]:4711"; nullopt for "unknown", "_obfuscated" and anything else.
std::optional<IpAddress> forwarded_node(std::string_view node);

}  // namespace nostr::server
