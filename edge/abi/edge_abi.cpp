// Implementation of edge_abi.h: request JSON in, decision JSON out.
#include "edge/abi/edge_abi.h"

#include <new>
#include <optional>
#include <string>

#include "core/abi/export.h"
#include "core/json_writer.h"
#include "edge/http.h"
#include "edge/route.h"
#include "simdjson.h"

struct nr_edge {
  nostr::RelayConfig config;
  nostr::edge::EdgeOptions options;
  simdjson::dom::parser parser;
  std::string out;
};

namespace {

std::string_view bytes(const uint8_t* p, uint32_t n) { return {reinterpret_cast<const char*>(p), n}; }

std::string field(simdjson::dom::element el, const char* key) {
  std::string_view s;
  if (el[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return std::string(s);
}

// The string member `key` of `el`, or nullopt if absent or not a string.
std::optional<std::string> optional_field(simdjson::dom::element el, const char* key) {
  std::string_view s;
  if (el[key].get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return std::string(s);
}

int32_t route_code(nostr::edge::Route route) {
  using nostr::edge::Route;
  switch (route) {
    case Route::answer: return 0;
    case Route::forward: return 1;
    case Route::stats: return 2;
    case Route::metrics: return 3;
    case Route::health: return 4;
    case Route::need_overrides: return 5;
    case Route::need_body: return 6;
  }
  return 0;
}

}  // namespace

NR_EXPORT("nr_edge_new") nr_edge* nr_edge_new(const uint8_t* config_json, uint32_t len) {
  auto config = nostr::parse_config(bytes(config_json, len));
  if (!config) return nullptr;
  auto* e = new (std::nothrow) nr_edge();
  if (e) e->config = std::move(config).value();
  return e;
}

NR_EXPORT("nr_edge_set_metrics_token")
void nr_edge_set_metrics_token(nr_edge* e, const uint8_t* token, uint32_t len) {
  e->options.metrics_token.assign(bytes(token, len));
}

NR_EXPORT("nr_edge_free") void nr_edge_free(nr_edge* e) { delete e; }

NR_EXPORT("nr_edge_out_ptr") const uint8_t* nr_edge_out_ptr(const nr_edge* e) {
  return reinterpret_cast<const uint8_t*>(e->out.data());
}

NR_EXPORT("nr_edge_out_len") uint32_t nr_edge_out_len(const nr_edge* e) { return static_cast<uint32_t>(e->out.size()); }

NR_EXPORT("nr_edge_request") int32_t nr_edge_request(nr_edge* e, const uint8_t* req, uint32_t len) {
  nostr::edge::HttpRequest r;
  std::optional<nostr::edge::RelayOverrides> overrides;
  simdjson::dom::element root;
  if (e->parser.parse(reinterpret_cast<const char*>(req), len, false).get(root) == simdjson::SUCCESS) {
    r.method = field(root, "method");
    r.path = field(root, "path");
    r.origin_url = field(root, "origin");
    r.url = field(root, "url");
    double now = 0;
    if (root["now"].get_double().get(now) == simdjson::SUCCESS && now > 0) r.now = static_cast<uint64_t>(now);
    r.body = optional_field(root, "body");
    simdjson::dom::element o;
    if (root["overrides"].get(o) == simdjson::SUCCESS) {
      overrides.emplace();
      overrides->name = optional_field(o, "name");
      overrides->description = optional_field(o, "description");
      overrides->icon = optional_field(o, "icon");
    }
    simdjson::dom::element h;
    if (root["headers"].get(h) == simdjson::SUCCESS) {
      r.accept = field(h, "accept");
      r.upgrade = field(h, "upgrade");
      r.connection = field(h, "connection");
      r.websocket_key = field(h, "sec-websocket-key");
      r.websocket_version = field(h, "sec-websocket-version");
      r.authorization = field(h, "authorization");
      r.content_type = field(h, "content-type");
    }
  }
  const nostr::edge::HttpResponse resp = nostr::edge::handle_request(r, e->config, e->options, overrides);
  e->out.clear();
  const int32_t code = route_code(resp.route);
  if (resp.route == nostr::edge::Route::forward || resp.route == nostr::edge::Route::need_overrides ||
      resp.route == nostr::edge::Route::need_body) {
    return code;
  }
  nostr::JsonWriter w;
  w.begin_object().key("status").integer(resp.status).key("headers").begin_object();
  for (const auto& [name, value] : resp.headers) w.key(name).string(value);
  w.end_object().key("body").string(resp.body).end_object();
  e->out = w.take();
  return code;
}

NR_EXPORT("nr_edge_object") int32_t nr_edge_object(nr_edge* e, const uint8_t* req, uint32_t len) {
  nostr::edge::RouteInput in;
  simdjson::dom::element root;
  if (e->parser.parse(reinterpret_cast<const char*>(req), len, false).get(root) == simdjson::SUCCESS) {
    in.continent = field(root, "continent");
    in.country = field(root, "country");
    in.client_ip = field(root, "ip");
    in.query = field(root, "query");
    double lon = 0;
    std::string_view lon_text;
    if (root["longitude"].get_double().get(lon) == simdjson::SUCCESS) {
      in.longitude = lon;
    } else if (root["longitude"].get_string().get(lon_text) == simdjson::SUCCESS && !lon_text.empty()) {
      // request.cf.longitude is a string ("-122.4"): a plain decimal.
      double v = 0, scale = 0;
      bool neg = false, ok = true;
      for (size_t i = 0; i < lon_text.size() && ok; ++i) {
        const char c = lon_text[i];
        if (i == 0 && c == '-') neg = true;
        else if (c == '.' && scale == 0) scale = 1;
        else if (c >= '0' && c <= '9') {
          if (scale > 0) v += (c - '0') * (scale /= 10);
          else v = v * 10 + (c - '0');
        } else ok = false;
      }
      if (ok) in.longitude = neg ? -v : v;
    }
  }
  const nostr::edge::ObjectChoice choice = nostr::edge::choose_object(in, e->config);
  e->out = nostr::JsonObjectWriter().string("name", choice.name).string("hint", choice.location_hint).finish();
  return 0;
}
