// HTTP decisions for the stateless Worker: NIP-11 documents, CORS, and cheap
// rejection of malformed WebSocket upgrades before they reach (and bill) the
// Durable Object.
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
  std::string accept, upgrade, connection, websocket_key, websocket_version, origin;
};

struct HttpResponse {
  bool forward = false;  // true: hand the request to the relay Durable Object
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Returns what to do with `req`. Never fails: bad requests get a 4xx with a
// reason in the body.
HttpResponse handle_request(const HttpRequest& req, const RelayConfig& config);

}  // namespace nostr::edge
