// HTTP decisions for the stateless Worker: NIP-11 documents, CORS, cheap
// rejection of malformed WebSocket upgrades before they reach (and bill) the
// Durable Object, and who may read GET /stats.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace nostr::edge {

struct HttpRequest {
  std::string method;
  std::string path;
  // Lowercase header names; absent headers are empty strings.
  std::string accept, upgrade, connection, websocket_key, websocket_version, authorization;
};

// Host settings that are not relay configuration: they come from Worker
// secrets, never from RELAY_CONFIG (which parse_config checks key by key).
struct EdgeOptions {
  // GET /stats needs "Authorization: Bearer <metrics_token>"; empty: /stats
  // does not exist (404).
  std::string metrics_token;
};

struct HttpResponse {
  bool forward = false;  // true: hand the request to the relay Durable Object
  // true: answer with this status and these headers, and the relay Durable
  // Object's stats JSON (nr_relay_stats) as the body (which is empty here).
  bool stats = false;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Returns what to do with `req`. Never fails: bad requests get a 4xx with a
// reason in the body.
HttpResponse handle_request(const HttpRequest& req, const RelayConfig& config, const EdgeOptions& options = {});

}  // namespace nostr::edge
