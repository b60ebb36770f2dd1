#include "edge/http.h"

#include "core/config.h"
#include "core/management.h"
#include "core/text.h"
#include "edge/page.h"

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

// True if the media type of `content_type` (parameters ignored, case-insensitive)
// is exactly `type`: "application/nostr+json+rpc; charset=utf-8" is NIP-86,
// "application/nostr+json" is not.
bool media_type_is(std::string_view content_type, std::string_view type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return ascii_lower(t) == type;
}

constexpr std::string_view kNip86Type = "application/nostr+json+rpc";

void add_cors(HttpResponse& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Accept, Content-Type, Authorization");
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
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

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse r = text(405, "Method Not Allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// GET /stats (the engine's resource use, JSON) and GET /metrics (Prometheus
// text): for operators and load tests, behind the metrics token.
HttpResponse token_request(const HttpRequest& req, const EdgeOptions& options, bool get,
                           Route route) {
  if (options.metrics_token.empty()) return text(404, "Not Found");
  if (!get) return method_not_allowed("GET, HEAD, OPTIONS");
  if (!bearer_matches(req.authorization, options.metrics_token)) {
    HttpResponse r = text(401, "Unauthorized: " + req.path + " needs Authorization: Bearer <METRICS_TOKEN>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  HttpResponse r;
  r.route = route;
  r.headers.emplace_back("Content-Type", route == Route::metrics ? "text/plain; version=0.0.4"
                                                                 : "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  add_cors(r);
  return r;
}

// GET /health: public; the Worker answers 200 or 503 from the relay object's health().
HttpResponse health_request(bool get) {
  if (!get) return method_not_allowed("GET, HEAD, OPTIONS");
  HttpResponse r;
  r.route = Route::health;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  add_cors(r);
  return r;
}

// Returns the relay's public WebSocket URL: relay_url if configured, else
// ws(s):// and the host the request came to, else "" (unknown).
std::string public_relay_url(const RelayConfig& config, std::string_view origin_url) {
  if (!config.relay_url.empty()) return config.relay_url;
  const std::string lower = ascii_lower(origin_url.substr(0, 8));
  std::string_view host;
  std::string scheme;
  if (lower.starts_with("https://")) {
    scheme = "wss://";
    host = origin_url.substr(8);
  } else if (lower.starts_with("http://")) {
    scheme = "ws://";
    host = origin_url.substr(7);
  }
  host = host.substr(0, host.find_first_of("/?#"));
  return host.empty() ? std::string() : scheme + std::string(host);
}

RelayConfig with_overrides(const RelayConfig& config, const RelayOverrides& o) {
  RelayConfig c = config;
  if (o.name) c.name = *o.name;
  if (o.description) c.description = *o.description;
  if (o.icon) c.icon = *o.icon;
  return c;
}

// GET / without an upgrade: NIP-11 (Accept: application/nostr+json), the
// relay page (Accept: text/html), else one sentence of text.
HttpResponse home(const HttpRequest& req, const RelayConfig& config) {
  HttpResponse r;
  if (has_token(req.accept, "application/nostr+json")) {
    r.headers.emplace_back("Content-Type", "application/nostr+json");
    r.body = relay_info_json(config);
    add_cors(r);
  } else if (has_token(req.accept, "text/html")) {
    r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    r.headers.emplace_back("Content-Security-Policy", relay_page_csp());
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.body = relay_page(config, public_relay_url(config, req.origin_url), relay_info_json(config));
    add_cors(r);
  } else {
    const std::string url = public_relay_url(config, req.origin_url);
    r = text(200, config.name + ": a Nostr relay. Connect with a Nostr client to " +
                      (url.empty() ? std::string("this server's URL") : url) +
                      " (NIP-11 information: send Accept: application/nostr+json).");
  }
  r.headers.emplace_back("Vary", "Accept");
  return r;
}

HttpResponse admin_json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Nostr");
  add_cors(r);
  r.body = std::move(body);
  return r;
}

// NIP-86: everything that needs no state is checked here, in the stateless
// Worker, so that unauthorised calls never reach (nor bill) the relay object:
// the administrator's NIP-98 signature, time, URL, method and payload. The
// relay object checks again and refuses replays (it keeps the used ids).
HttpResponse admin_request(const HttpRequest& req, const RelayConfig& config) {
  if (config.admin_pubkeys.empty()) {
    return admin_json(404, admin_error("the management API is disabled: no ADMIN_PUBKEYS are configured"));
  }
  if (!req.body) {
    HttpResponse r;
    r.route = Route::need_body;
    return r;
  }
  if (req.body->size() > kMaxAdminBody) {
    return admin_json(413, admin_error("request body is larger than " + std::to_string(kMaxAdminBody) + " bytes"));
  }
  simdjson::dom::parser parser;
  auto auth = authorize_admin(parser, config, req.url, req.authorization, *req.body, req.now);
  if (!auth) return admin_json(401, admin_error(auth.error().text));
  HttpResponse r;
  r.route = Route::forward;
  return r;
}

}  // namespace

HttpResponse handle_request(const HttpRequest& req, const RelayConfig& config, const EdgeOptions& options,
                            const std::optional<RelayOverrides>& overrides) {
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
    r.route = Route::forward;
    return r;
  }
  // The HTTP API (durable/relay_http.cpp): the relay object answers it.
  if (req.path.rfind("/api/v1/", 0) == 0) {
    const bool post = req.method == "POST" && (req.path == "/api/v1/events" || req.path == "/api/v1/query");
    const bool get_event = get && req.path.rfind("/api/v1/events/", 0) == 0;
    if (!post && !get_event) {
      if (req.path == "/api/v1/events" || req.path == "/api/v1/query") return method_not_allowed("POST, OPTIONS");
      return text(404, "Not Found: the API has POST /api/v1/events, POST /api/v1/query, GET /api/v1/events/{id}");
    }
    HttpResponse r;
    r.route = Route::forward;
    return r;
  }
  if (req.path == "/stats") return token_request(req, options, get, Route::stats);
  if (req.path == "/metrics") return token_request(req, options, get, Route::metrics);
  if (req.path == "/health") return health_request(get);
  if (req.path != "/") return text(404, "Not Found");
  // NIP-86 before anything reads Accept: "application/nostr+json" is a prefix
  // of its media type.
  if (req.method == "POST" && media_type_is(req.content_type, kNip86Type)) return admin_request(req, config);
  if (!get) {
    HttpResponse r = method_not_allowed("GET, HEAD, POST, OPTIONS");
    if (req.method == "POST") r.body = "Method Not Allowed: POST / needs Content-Type: application/nostr+json+rpc (NIP-86)\n";
    return r;
  }
  if (!overrides) {
    HttpResponse r;
    r.route = Route::need_overrides;
    return r;
  }
  return home(req, with_overrides(config, *overrides));
}

}  // namespace nostr::edge
