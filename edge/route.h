// Which relay object serves a connection (several objects: docs/scale.md).
// The Worker asks before forwarding a WebSocket upgrade, an API or NIP-86
// call, or /stats, /metrics and /health; the object is created near the
// client with Cloudflare's location hint for its region.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"

namespace nostr::edge {

// What the Worker knows of a request for routing.
struct RouteInput {
  std::string continent;            // request.cf.continent ("EU"), may be empty
  std::string country;              // request.cf.country ("DE"), may be empty
  std::optional<double> longitude;  // request.cf.longitude
  std::string client_ip;            // CF-Connecting-IP, may be empty
  std::string query;                // the URL's query string without '?' (pinning)
};

struct ObjectChoice {
  std::string name;           // for idFromName: "relay:<region>:<shard>", or "relay"
  std::string location_hint;  // "" when regions are off
};

// Returns the object for a request:
//  - regions off, one shard: "relay" (the single object);
//  - the region: from the continent (and longitude in North America and
//    Europe, the country in Asia for the Middle East), else default_region;
//  - the shard: a hash of the client's address modulo `shards` (one client's
//    connections share an object and its per-address limits), 0 without one;
//  - with route_pinning, ?region=<hint>&shard=<n> in the query wins (tests).
ObjectChoice choose_object(const RouteInput& in, const RelayConfig& config);

// The region of a request (one of kLocationHints), without pinning.
std::string_view region_of(const RouteInput& in, const RelayConfig& config);

}  // namespace nostr::edge
