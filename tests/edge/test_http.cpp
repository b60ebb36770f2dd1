// The Worker's HTTP decisions: NIP-11, CORS, upgrade validation.
#include <doctest/doctest.h>

#include <string>

#include "edge/http.h"
#include "simdjson.h"

using nostr::edge::HttpRequest;
using nostr::edge::handle_request;

namespace {

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
  CHECK_FALSE(resp.forward);
  CHECK(resp.status == 200);
  CHECK(header(resp, "Content-Type") == "application/nostr+json");
  CHECK(header(resp, "Access-Control-Allow-Origin") == "*");
  CHECK(resp.body.find("\"name\":\"test relay\"") != std::string::npos);
  CHECK(resp.body.find("\"supported_nips\":[1,9,11,40,42,45,70]") != std::string::npos);
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
  CHECK_FALSE(header(resp, "Access-Control-Allow-Headers").empty());
}

TEST_CASE("valid upgrades are forwarded; malformed ones are answered at the edge") {
  CHECK(handle_request(upgrade(), {}).forward);
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
  CHECK(handle_request(r, {}).forward);
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
  CHECK(header(post, "Allow") == "GET, HEAD, OPTIONS");
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
  CHECK_FALSE(off.stats);

  nostr::edge::EdgeOptions opts;
  opts.metrics_token = "s3cret";
  const auto ok = handle_request(r, {}, opts);
  CHECK(ok.stats);
  CHECK_FALSE(ok.forward);
  CHECK(ok.status == 200);
  CHECK(ok.body.empty());  // the Worker fills in the relay's stats JSON
  CHECK(header(ok, "Content-Type") == "application/json");
  CHECK(header(ok, "Access-Control-Allow-Origin") == "*");
  CHECK(header(ok, "Cache-Control") == "no-store");

  r.authorization = "bearer   s3cret ";  // scheme is case-insensitive, spaces around the token ignored
  CHECK(handle_request(r, {}, opts).stats);

  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret",
                          "Bearer S3CRET"}) {
    CAPTURE(bad);
    r.authorization = bad;
    const auto denied = handle_request(r, {}, opts);
    CHECK(denied.status == 401);
    CHECK_FALSE(denied.stats);
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
  CHECK_FALSE(up.stats);
  CHECK_FALSE(up.forward);
}
