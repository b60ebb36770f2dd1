// The Worker's HTTP decisions: NIP-11, the relay page, CORS, upgrade
// validation, NIP-86 routing, /stats, /metrics, /health.
#include <doctest/doctest.h>

#include <string>

#include "../support/nip98_token.h"
#include "../support/signer.h"
#include "edge/http.h"
#include "edge/page.h"
#include "simdjson.h"

using nostr::edge::HttpRequest;
using nostr::test::Signer;
using nostr::edge::Route;
using nostr::edge::handle_request;

namespace {

HttpRequest get(const std::string& path, const std::string& accept = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.accept = accept;
  return r;
}

constexpr const char* kBrowserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

std::string header(const nostr::edge::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

HttpRequest upgrade() {
  HttpRequest r;
  r.method = "GET";
  r.path = "/";
  r.upgrade = "websocket";
  r.connection = "keep-alive, Upgrade";
  r.websocket_key = "dGhlIHNhbXBsZSBub25jZQ==";
  r.websocket_version = "13";
  return r;
}

}  // namespace

TEST_CASE("NIP-11 document with CORS when asked for application/nostr+json") {
  nostr::RelayConfig cfg;
  cfg.name = "test relay";
  cfg.limits.max_subscriptions = 7;
  HttpRequest r;
  r.method = "GET";
  r.path = "/";
  r.accept = "text/html, application/nostr+json;q=0.9";
  const auto resp = handle_request(r, cfg);
  CHECK(resp.route == Route::answer);
  CHECK(resp.status == 200);
  CHECK(header(resp, "Content-Type") == "application/nostr+json");
  CHECK(header(resp, "Access-Control-Allow-Origin") == "*");
  CHECK(resp.body.find("\"name\":\"test relay\"") != std::string::npos);
  CHECK(resp.body.find("\"supported_nips\":[1,9,11,13,17,40,42,45,50,59,62,70,77]") != std::string::npos);
  // NIP-86 is advertised only when administrators are configured.
  nostr::RelayConfig with_admin;
  with_admin.admin_pubkeys = {*nostr::Pubkey::from_hex(std::string(64, 'a'))};
  CHECK(handle_request(r, with_admin).body.find("\"supported_nips\":[1,9,11,13,17,40,42,45,50,59,62,70,77,86]") != std::string::npos);
  CHECK(resp.body.find("\"max_subscriptions\":7") != std::string::npos);
  simdjson::dom::parser p;
  simdjson::dom::element el;
  CHECK(p.parse(resp.body).get(el) == simdjson::SUCCESS);
}

TEST_CASE("CORS preflight") {
  HttpRequest r;
  r.method = "OPTIONS";
  r.path = "/";
  const auto resp = handle_request(r, {});
  CHECK(resp.status == 204);
  CHECK(header(resp, "Access-Control-Allow-Origin") == "*");
  CHECK(header(resp, "Access-Control-Allow-Methods").find("GET") != std::string::npos);
  // NIP-86 clients in browsers POST with these headers.
  CHECK(header(resp, "Access-Control-Allow-Methods").find("POST") != std::string::npos);
  const std::string allowed = header(resp, "Access-Control-Allow-Headers");
  CHECK(allowed.find("Content-Type") != std::string::npos);
  CHECK(allowed.find("Authorization") != std::string::npos);
  CHECK(handle_request(r, {}).body.empty());
}

TEST_CASE("valid upgrades are forwarded; malformed ones are answered at the edge") {
  CHECK(handle_request(upgrade(), {}).route == Route::forward);
  auto r = upgrade();
  r.websocket_key = "";
  CHECK(handle_request(r, {}).status == 400);
  r = upgrade();
  r.websocket_key = "short==";
  CHECK(handle_request(r, {}).status == 400);
  r = upgrade();
  r.websocket_version = "8";
  const auto v = handle_request(r, {});
  CHECK(v.status == 426);
  CHECK(header(v, "Sec-WebSocket-Version") == "13");
  r = upgrade();
  r.connection = "keep-alive";
  CHECK(handle_request(r, {}).status == 400);
  r = upgrade();
  r.method = "POST";
  CHECK(handle_request(r, {}).status == 400);
  r = upgrade();
  r.upgrade = "h2c";
  CHECK(handle_request(r, {}).status == 400);
  r = upgrade();
  r.path = "/other";
  CHECK(handle_request(r, {}).status == 404);
  r = upgrade();
  r.upgrade = "WebSocket";
  CHECK(handle_request(r, {}).route == Route::forward);
}

TEST_CASE("other requests get clear answers") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/";
  const auto home = handle_request(r, {});
  CHECK(home.status == 200);
  CHECK(home.body.find("Nostr relay") != std::string::npos);
  r.path = "/favicon.ico";
  CHECK(handle_request(r, {}).status == 404);
  r.path = "/";
  r.method = "POST";
  const auto post = handle_request(r, {});
  CHECK(post.status == 405);
  CHECK(header(post, "Allow") == "GET, HEAD, POST, OPTIONS");
  CHECK(post.body.find("application/nostr+json+rpc") != std::string::npos);
}

TEST_CASE("configuration JSON") {
  auto c = nostr::parse_config("{\"name\":\"x\",\"relay_url\":\"wss://r\",\"limits\":{\"max_limit\":7,\"created_at_upper_limit\":60}}");
  REQUIRE(c.ok());
  CHECK(c->name == "x");
  CHECK(c->limits.max_limit == 7);
  CHECK(c->limits.created_at_upper_limit == 60);
  CHECK_FALSE(nostr::parse_config("{\"nmae\":\"typo\"}").ok());
  CHECK_FALSE(nostr::parse_config("{\"limits\":{\"max_limit\":-1}}").ok());
  CHECK_FALSE(nostr::parse_config("[]").ok());
}

TEST_CASE("GET /stats: absent without a metrics token, bearer token required with one") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/stats";
  r.authorization = "Bearer s3cret";
  // No token configured: the endpoint does not exist, whatever the request says.
  const auto off = handle_request(r, {});
  CHECK(off.status == 404);
  CHECK(off.route == Route::answer);

  nostr::edge::EdgeOptions opts;
  opts.metrics_token = "s3cret";
  const auto ok = handle_request(r, {}, opts);
  CHECK(ok.route == Route::stats);
  CHECK(ok.status == 200);
  CHECK(ok.body.empty());  // the Worker fills in the relay's stats JSON
  CHECK(header(ok, "Content-Type") == "application/json");
  CHECK(header(ok, "Access-Control-Allow-Origin") == "*");
  CHECK(header(ok, "Cache-Control") == "no-store");

  r.authorization = "bearer   s3cret ";  // scheme is case-insensitive, spaces around the token ignored
  CHECK(handle_request(r, {}, opts).route == Route::stats);

  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret",
                          "Bearer S3CRET"}) {
    CAPTURE(bad);
    r.authorization = bad;
    const auto denied = handle_request(r, {}, opts);
    CHECK(denied.status == 401);
    CHECK(denied.route == Route::answer);
    CHECK(header(denied, "WWW-Authenticate") == "Bearer");
  }

  r.authorization = "Bearer s3cret";
  r.method = "POST";
  CHECK(handle_request(r, {}, opts).status == 405);
  r.method = "GET";
  r.path = "/stats/";
  CHECK(handle_request(r, {}, opts).status == 404);
  // An upgrade to /stats is not a stats request.
  auto u = upgrade();
  u.path = "/stats";
  u.authorization = "Bearer s3cret";
  const auto up = handle_request(u, {}, opts);
  CHECK(up.status == 404);
  CHECK(up.route == Route::answer);
}

TEST_CASE("GET / from a browser: the relay page") {
  nostr::RelayConfig cfg;
  cfg.name = "page relay";
  cfg.description = "line one";
  cfg.relay_url = "wss://relay.example";
  cfg.limits.max_subscriptions = 7;
  const auto resp = handle_request(get("/", kBrowserAccept), cfg);
  CHECK(resp.route == Route::answer);
  CHECK(resp.status == 200);
  CHECK(header(resp, "Content-Type") == "text/html; charset=utf-8");
  CHECK(header(resp, "Vary") == "Accept");
  CHECK(header(resp, "X-Content-Type-Options") == "nosniff");
  CHECK(header(resp, "Content-Security-Policy") == nostr::edge::relay_page_csp());
  const std::string& b = resp.body;
  CHECK(b.starts_with("<!doctype html>"));
  CHECK(b.find("<title>page relay</title>") != std::string::npos);
  CHECK(b.find("<h1 id=\"name\">page relay</h1>") != std::string::npos);
  CHECK(b.find("<p id=\"description\">line one</p>") != std::string::npos);
  CHECK(b.find("<code id=\"relay-url\">wss://relay.example</code>") != std::string::npos);
  CHECK(b.find("<button id=\"copy\"") != std::string::npos);
  CHECK(b.find("fetch('/health'") != std::string::npos);
  CHECK(b.find("id=\"icon\"") == std::string::npos);  // no icon configured
  // The NIP-11 document the script lists NIPs and limits from, embedded whole.
  const std::string nip11 = nostr::relay_info_json(cfg);
  CHECK(b.find("<script type=\"application/json\" id=\"nip11\">" + nip11 + "</script>") != std::string::npos);
  CHECK(b.find("\"max_subscriptions\":7") != std::string::npos);
  // Nothing loaded from elsewhere (no CDN): no external script, style or font.
  CHECK(b.find("<script src") == std::string::npos);
  CHECK(b.find("<link") == std::string::npos);
  CHECK(b.find("@import") == std::string::npos);

  // NIP-11 wins when both are acceptable (clients ask for it explicitly).
  auto both = get("/", "text/html, application/nostr+json");
  CHECK(header(handle_request(both, cfg), "Content-Type") == "application/nostr+json");
  // Anything else keeps the one-line text answer.
  for (const char* accept : {"", "*/*", "text/plain", "application/json"}) {
    CAPTURE(accept);
    const auto t = handle_request(get("/", accept), cfg);
    CHECK(header(t, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(t.body.find("page relay: a Nostr relay") != std::string::npos);
    CHECK(t.body.find("wss://relay.example") != std::string::npos);
  }
  // HEAD gets the same headers (the runtime drops the body).
  auto head = get("/", kBrowserAccept);
  head.method = "HEAD";
  CHECK(header(handle_request(head, cfg), "Content-Type") == "text/html; charset=utf-8");
}

TEST_CASE("the page's CSP allows exactly its own inline script and style") {
  const std::string csp = nostr::edge::relay_page_csp();
  CHECK(csp.starts_with("default-src 'none'; script-src 'sha256-"));
  CHECK(csp.find("style-src 'sha256-") != std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  // Each hash is base64 of 32 bytes: 43 characters and one '='.
  for (const char* kind : {"script-src 'sha256-", "style-src 'sha256-"}) {
    const size_t at = csp.find(kind) + std::string(kind).size();
    const size_t end = csp.find('\'', at);
    CHECK(end - at == 44);
    CHECK(csp[end - 1] == '=');
  }
  // The hash covers the bytes between <script> and </script>.
  const std::string page = nostr::edge::relay_page({}, "wss://r", "{}");
  const size_t open = page.rfind("<script>") + 8;
  const std::string script = page.substr(open, page.rfind("</script>") - open);
  CHECK(script.find("textContent") != std::string::npos);
  CHECK(script.find("innerHTML") == std::string::npos);
}

TEST_CASE("the relay URL: configured, else derived from the request's origin") {
  nostr::RelayConfig cfg;
  auto r = get("/", kBrowserAccept);
  r.origin_url = "https://relay.example.org";
  CHECK(handle_request(r, cfg).body.find(">wss://relay.example.org</code>") != std::string::npos);
  r.origin_url = "http://127.0.0.1:8787";
  CHECK(handle_request(r, cfg).body.find(">ws://127.0.0.1:8787</code>") != std::string::npos);
  auto t = get("/");
  t.origin_url = "HTTPS://Relay.Example";
  CHECK(handle_request(t, cfg).body.find(" to wss://Relay.Example ") != std::string::npos);
  t.origin_url = "";
  CHECK(handle_request(t, cfg).body.find(" to this server's URL ") != std::string::npos);
  // Configured wins over the request.
  cfg.relay_url = "wss://configured.example";
  r.origin_url = "https://other.example";
  CHECK(handle_request(r, cfg).body.find(">wss://configured.example</code>") != std::string::npos);
  CHECK(handle_request(r, cfg).body.find("other.example") == std::string::npos);
}

TEST_CASE("hostile operator and management texts are escaped on the page") {
  nostr::RelayConfig cfg;
  cfg.name = "<script>alert(1)</script>";
  cfg.description = "\"'><img src=x onerror=alert(2)>&amp;";
  cfg.icon = "https://i.example/a.png\" onerror=\"alert(3)";
  cfg.contact = "</script><script>alert(4)</script>";
  auto r = get("/", kBrowserAccept);
  r.origin_url = "http://evil<b>.example";
  const std::string b = handle_request(r, cfg).body;
  CHECK(b.find("<script>alert") == std::string::npos);
  CHECK(b.find("<img src=x") == std::string::npos);
  CHECK(b.find("onerror=\"alert") == std::string::npos);
  CHECK(b.find("<b>") == std::string::npos);
  CHECK(b.find("<h1 id=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</h1>") != std::string::npos);
  CHECK(b.find("&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;") != std::string::npos);
  CHECK(b.find("src=\"https://i.example/a.png&quot; onerror=&quot;alert(3)\"") != std::string::npos);
  // The embedded NIP-11 JSON cannot close its <script> element: '<' is \u003c.
  const size_t json_at = b.find("id=\"nip11\">");
  const size_t json_end = b.find("</script>", json_at);
  const std::string json = b.substr(json_at + 11, json_end - json_at - 11);
  CHECK(json.find('<') == std::string::npos);
  CHECK(json.find("\\u003cscript>alert(1)\\u003c/script>") != std::string::npos);
  // ... and is still the same document once parsed.
  simdjson::dom::parser p;
  simdjson::dom::element el;
  REQUIRE(p.parse(json).get(el) == simdjson::SUCCESS);
  std::string_view name;
  REQUIRE(el["name"].get_string().get(name) == simdjson::SUCCESS);
  CHECK(name == cfg.name);
  // Exactly two <script> elements: the data block and the page's own script.
  size_t scripts = 0;
  for (size_t at = b.find("<script"); at != std::string::npos; at = b.find("<script", at + 1)) ++scripts;
  CHECK(scripts == 2);

  CHECK(nostr::edge::html_escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

TEST_CASE("management overrides replace name, description and icon") {
  nostr::RelayConfig cfg;
  cfg.name = "config name";
  cfg.description = "config description";
  cfg.icon = "https://config.example/icon.png";
  nostr::edge::RelayOverrides o;
  o.name = "managed name";
  o.description = "managed <description>";

  // Not loaded: every answer that shows them asks for them; nothing else does.
  for (const char* accept : {"application/nostr+json", kBrowserAccept, ""}) {
    CAPTURE(accept);
    CHECK(handle_request(get("/", accept), cfg, {}, std::nullopt).route == Route::need_overrides);
  }
  CHECK(handle_request(upgrade(), cfg, {}, std::nullopt).route == Route::forward);
  CHECK(handle_request(get("/health"), cfg, {}, std::nullopt).route == Route::health);
  CHECK(handle_request(get("/nope"), cfg, {}, std::nullopt).status == 404);

  const auto nip11 = handle_request(get("/", "application/nostr+json"), cfg, {}, o);
  simdjson::dom::parser p;
  simdjson::dom::element el;
  REQUIRE(p.parse(nip11.body).get(el) == simdjson::SUCCESS);
  std::string_view v;
  CHECK((el["name"].get_string().get(v) == simdjson::SUCCESS && v == "managed name"));
  CHECK((el["description"].get_string().get(v) == simdjson::SUCCESS && v == "managed <description>"));
  CHECK((el["icon"].get_string().get(v) == simdjson::SUCCESS && v == cfg.icon));  // not overridden

  const std::string page = handle_request(get("/", kBrowserAccept), cfg, {}, o).body;
  CHECK(page.find("<h1 id=\"name\">managed name</h1>") != std::string::npos);
  CHECK(page.find("managed &lt;description&gt;") != std::string::npos);
  CHECK(page.find("config name") == std::string::npos);
  CHECK(page.find("<img id=\"icon\" src=\"https://config.example/icon.png\"") != std::string::npos);

  CHECK(handle_request(get("/"), cfg, {}, o).body.starts_with("managed name: a Nostr relay"));

  // An empty icon override removes the icon; other keys fall back to config.
  nostr::edge::RelayOverrides no_icon;
  no_icon.icon = "";
  const auto plain = handle_request(get("/", "application/nostr+json"), cfg, {}, no_icon);
  CHECK(plain.body.find("\"icon\"") == std::string::npos);
  CHECK(plain.body.find("\"name\":\"config name\"") != std::string::npos);
  CHECK(handle_request(get("/", kBrowserAccept), cfg, {}, no_icon).body.find("id=\"icon\"") == std::string::npos);
}

TEST_CASE("NIP-86: POST / with application/nostr+json+rpc is a management call (its body is asked for)") {
  Signer admin(77);
  nostr::RelayConfig cfg;
  cfg.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.content_type = "application/nostr+json+rpc";
  r.authorization = "Nostr abc";
  CHECK(handle_request(r, cfg, {}, std::nullopt).route == Route::need_body);
  for (const char* ct : {"application/nostr+json+rpc; charset=utf-8", "Application/Nostr+JSON+RPC",
                         " application/nostr+json+rpc ;charset=utf-8"}) {
    CAPTURE(ct);
    r.content_type = ct;
    CHECK(handle_request(r, cfg).route == Route::need_body);
  }
  // The prefix trap: the NIP-11 media type (or any other) is not NIP-86, and
  // a NIP-86 Accept header does not make a POST one.
  for (const char* ct : {"application/nostr+json", "application/nostr+json; rpc", "application/nostr+json+rpcx",
                         "application/json", "", "text/plain"}) {
    CAPTURE(ct);
    r.content_type = ct;
    r.accept = "application/nostr+json+rpc";
    const auto resp = handle_request(r, cfg);
    CHECK(resp.route == Route::answer);
    CHECK(resp.status == 405);
  }
  // Decided before the Accept check: a NIP-86 call that also accepts NIP-11
  // is still a call.
  r.content_type = "application/nostr+json+rpc";
  r.accept = "application/nostr+json";
  CHECK(handle_request(r, cfg).route == Route::need_body);
  // Only on the relay URL, only with POST.
  r.path = "/rpc";
  CHECK(handle_request(r, {}).status == 404);
  r.path = "/";
  r.method = "PUT";
  CHECK(handle_request(r, {}).status == 405);
  r.method = "GET";
  const auto g = handle_request(r, {});
  CHECK(g.route == Route::answer);
  CHECK(header(g, "Content-Type") == "application/nostr+json");  // a GET is NIP-11 by Accept
}

TEST_CASE("GET /health: public, answered from the relay object's health()") {
  auto r = get("/health");
  const auto h = handle_request(r, {}, {}, std::nullopt);
  CHECK(h.route == Route::health);
  CHECK(h.status == 200);  // the Worker turns it into 503 unless ok and d1
  CHECK(h.body.empty());
  CHECK(header(h, "Content-Type") == "application/json");
  CHECK(header(h, "Cache-Control") == "no-store");
  CHECK(header(h, "Access-Control-Allow-Origin") == "*");
  // No token needed, even when one is configured; a wrong one does not matter.
  nostr::edge::EdgeOptions opts;
  opts.metrics_token = "s3cret";
  r.authorization = "Bearer wrong";
  CHECK(handle_request(r, {}, opts).route == Route::health);
  r.method = "HEAD";
  CHECK(handle_request(r, {}, opts).route == Route::health);
  r.method = "POST";
  const auto post = handle_request(r, {}, opts);
  CHECK(post.route == Route::answer);
  CHECK(post.status == 405);
  r.method = "GET";
  r.path = "/health/";
  CHECK(handle_request(r, {}, opts).status == 404);
  auto u = upgrade();
  u.path = "/health";
  CHECK(handle_request(u, {}, opts).status == 404);
}

TEST_CASE("GET /metrics: Prometheus text behind the metrics token, like /stats") {
  auto r = get("/metrics");
  r.authorization = "Bearer s3cret";
  const auto off = handle_request(r, {});
  CHECK(off.status == 404);
  CHECK(off.route == Route::answer);

  nostr::edge::EdgeOptions opts;
  opts.metrics_token = "s3cret";
  const auto ok = handle_request(r, {}, opts);
  CHECK(ok.route == Route::metrics);
  CHECK(ok.status == 200);
  CHECK(ok.body.empty());  // the Worker fills in the relay's metrics() text
  CHECK(header(ok, "Content-Type") == "text/plain; version=0.0.4");
  CHECK(header(ok, "Cache-Control") == "no-store");

  for (const char* bad : {"", "Bearer", "Bearer s3cre", "Basic s3cret", "s3cret", "Bearer S3CRET"}) {
    CAPTURE(bad);
    r.authorization = bad;
    const auto denied = handle_request(r, {}, opts);
    CHECK(denied.status == 401);
    CHECK(denied.route == Route::answer);
    CHECK(header(denied, "WWW-Authenticate") == "Bearer");
    CHECK(denied.body.find("s3cret") == std::string::npos);
  }
  r.authorization = "Bearer s3cret";
  r.method = "POST";
  CHECK(handle_request(r, {}, opts).status == 405);
  r.method = "GET";
  r.path = "/metrics/";
  CHECK(handle_request(r, {}, opts).status == 404);
}

TEST_CASE("NIP-86 at the edge: only an administrator's valid NIP-98 authorization reaches the relay object") {
  Signer admin(77), stranger(78);
  nostr::RelayConfig cfg;
  cfg.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  const std::string body = R"({"method":"supportedmethods","params":[]})";
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.url = "https://relay.example.com/";
  r.now = 1700000000;
  r.content_type = "application/nostr+json+rpc";
  r.body = body;
  r.authorization = nostr::test::nip98_header(admin, r.url, body, r.now);
  CHECK(handle_request(r, cfg).route == Route::forward);
  auto refused = [&](const std::string& auth) {
    r.authorization = auth;
    const auto resp = handle_request(r, cfg);
    CHECK(resp.route == Route::answer);
    CHECK(resp.status == 401);
    CHECK(header(resp, "WWW-Authenticate") == "Nostr");
    return resp.body;
  };
  CHECK(refused("").find("missing Authorization") != std::string::npos);
  CHECK(refused(nostr::test::nip98_header(stranger, r.url, body, r.now)).find("is not an administrator") != std::string::npos);
  CHECK(refused(nostr::test::nip98_header(admin, r.url, body, r.now - 61)).find("created_at") != std::string::npos);
  CHECK(refused(nostr::test::nip98_header(admin, "https://x.example/", body, r.now)).find("u tag") != std::string::npos);
  CHECK(refused(nostr::test::nip98_header(admin, r.url, body, r.now, "PUT")).find("method tag") != std::string::npos);
  CHECK(refused(nostr::test::nip98_header(admin, r.url, body + " ", r.now)).find("payload") != std::string::npos);
  // Too big to be a call: 413 before any signature is checked.
  r.body = std::string(16 * 1024 + 1, ' ');
  CHECK(handle_request(r, cfg).status == 413);
  // No administrators configured: the API does not exist.
  r.body = body;
  const auto off = handle_request(r, nostr::RelayConfig{});
  CHECK(off.status == 404);
  CHECK(off.body.find("ADMIN_PUBKEYS") != std::string::npos);
}

TEST_CASE("the HTTP API is forwarded to the relay object; other methods and paths are answered here") {
  nostr::RelayConfig cfg;
  auto route = [&](const std::string& method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    return handle_request(r, cfg);
  };
  CHECK(route("POST", "/api/v1/events").route == Route::forward);
  CHECK(route("POST", "/api/v1/query").route == Route::forward);
  CHECK(route("GET", "/api/v1/events/" + std::string(64, 'a')).route == Route::forward);
  CHECK(route("GET", "/api/v1/query").status == 405);
  CHECK(route("PUT", "/api/v1/events").status == 405);
  CHECK(route("GET", "/api/v1/other").status == 404);
  CHECK(route("OPTIONS", "/api/v1/query").status == 204);
}
