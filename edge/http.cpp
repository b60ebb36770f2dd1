#include "edge/http.h"

#include "core/config.h"
#include "core/text.h"

namespace nostr::edge {
namespace {

// True if the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view header, std::string_view token) {
  const std::string h = ascii_lower(header);
  size_t pos = 0;
  while (pos <= h.size()) {
    size_t end = h.find(',', pos);
    if (end == std::string::npos) end = h.size();
    std::string_view item = std::string_view(h).substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    // Media types may carry parameters: "application/nostr+json; q=0.9".
    if (const size_t semi = item.find(';'); semi != std::string_view::npos) item = item.substr(0, semi);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == token) return true;
    pos = end + 1;
  }
  return false;
}

// RFC 6455: the key is base64 of 16 bytes, i.e. 22 chars + "==".
bool valid_websocket_key(std::string_view k) {
  if (k.size() != 24 || k.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    const char c = k[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

void add_cors(HttpResponse& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Accept, Content-Type, Authorization");
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
}

// Compares in time independent of where the strings differ (the token is a
// secret; the length is not).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// True if `authorization` is "Bearer <token>" (scheme case-insensitive, RFC 7235).
bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size() || ascii_lower(authorization.substr(0, kScheme.size())) != kScheme) {
    return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  return same_secret(given, token);
}

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body) + "\n";
  add_cors(r);
  return r;
}

// GET /stats: the relay's resource use, for operators and load tests.
HttpResponse stats_request(const HttpRequest& req, const EdgeOptions& options, bool get) {
  if (options.metrics_token.empty()) return text(404, "Not Found");
  if (!get) {
    HttpResponse r = text(405, "Method Not Allowed");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (!bearer_matches(req.authorization, options.metrics_token)) {
    HttpResponse r = text(401, "Unauthorized: /stats needs Authorization: Bearer <METRICS_TOKEN>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  HttpResponse r;
  r.stats = true;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  add_cors(r);
  return r;
}

}  // namespace

HttpResponse handle_request(const HttpRequest& req, const RelayConfig& config, const EdgeOptions& options) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (req.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    add_cors(r);
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    return r;
  }
  if (!req.upgrade.empty()) {
    if (!has_token(req.upgrade, "websocket")) return text(400, "Bad Request: only WebSocket upgrades are supported");
    if (req.method != "GET") return text(400, "Bad Request: a WebSocket upgrade must use GET");
    if (req.path != "/") return text(404, "Not Found: connect to / for the Nostr relay");
    if (!has_token(req.connection, "upgrade")) return text(400, "Bad Request: Connection header must include Upgrade");
    if (req.websocket_version != "13") {
      HttpResponse r = text(426, "Upgrade Required: Sec-WebSocket-Version must be 13");
      r.headers.emplace_back("Sec-WebSocket-Version", "13");
      return r;
    }
    if (!valid_websocket_key(req.websocket_key)) return text(400, "Bad Request: missing or malformed Sec-WebSocket-Key");
    HttpResponse r;
    r.forward = true;
    return r;
  }
  if (req.path == "/stats") return stats_request(req, options, get);
  if (req.path != "/") return text(404, "Not Found");
  if (!get) {
    HttpResponse r = text(405, "Method Not Allowed");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (has_token(req.accept, "application/nostr+json")) {
    HttpResponse r;
    r.headers.emplace_back("Content-Type", "application/nostr+json");
    add_cors(r);
    r.body = relay_info_json(config);
    return r;
  }
  const std::string url = config.relay_url.empty() ? std::string("this server's URL") : config.relay_url;
  return text(200, config.name + ": a Nostr relay. Connect with a Nostr client to " + url +
                       " (NIP-11 information: send Accept: application/nostr+json).");
}

}  // namespace nostr::edge
