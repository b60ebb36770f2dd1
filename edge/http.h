// HTTP decisions for the stateless Worker: NIP-11 documents, the relay page,
// CORS, cheap rejection of malformed WebSocket upgrades before they reach (and
// bill) the Durable Object, NIP-86 routing, and who may read /stats, /metrics
// and /health.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace nostr::edge {

struct HttpRequest {
  std::string method;
  std::string path;
  // The request's scheme and host as the client sent them ("https://relay.example"),
  // used only to show a relay URL when RELAY_CONFIG has no relay_url. May be empty.
  std::string origin_url;
  // Lowercase header names; absent headers are empty strings.
  std::string accept, upgrade, connection, websocket_key, websocket_version, authorization, content_type;
  // The full URL as received (NIP-98's `u`), the time (unix seconds), and the
  // body when the host has read it (NIP-86 calls: Route::need_body asks).
  std::string url;
  uint64_t now = 0;
  std::optional<std::string> body;
};

// Host settings that are not relay configuration: they come from Worker
// secrets, never from RELAY_CONFIG (which parse_config checks key by key).
struct EdgeOptions {
  // GET /stats and GET /metrics need "Authorization: Bearer <metrics_token>";
  // empty: neither exists (404).
  std::string metrics_token;
};

// NIP-11 texts set through the NIP-86 management API (D1 table mgmt_settings,
// keys 'name', 'description', 'icon'); a present value replaces
// RELAY_CONFIG's, even when empty (an empty icon removes it).
struct RelayOverrides {
  std::optional<std::string> name, description, icon;
};

// What the Worker does with a request.
enum class Route {
  answer,   // answer with status, headers and body
  forward,  // hand the request, unchanged, to the relay Durable Object
  // Answer with status and headers (body empty here) and, as the body, what
  // the relay Durable Object's RPC returns: stats() (JSON), metrics()
  // (Prometheus text), health() (JSON; the Worker sets 200 or 503 from it).
  stats,
  metrics,
  health,
  // The answer shows the relay's name, description or icon: ask again with
  // the management overrides (handle_request's `overrides`).
  need_overrides,
  // A NIP-86 call: ask again with its body (at most kMaxAdminBody + 1 bytes
  // read), which the NIP-98 check covers. An authorised call is forwarded.
  need_body,
};

struct HttpResponse {
  Route route = Route::answer;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Returns what to do with `req`. Never fails: bad requests get a 4xx with a
// reason in the body. `overrides`: the management settings, or nullopt if
// the host has not loaded them (answers that need them are then
// Route::need_overrides; nothing else depends on them). Borrows its arguments
// for the call only.
HttpResponse handle_request(const HttpRequest& req, const RelayConfig& config,
                            const EdgeOptions& options = {},
                            const std::optional<RelayOverrides>& overrides = RelayOverrides{});

}  // namespace nostr::edge
