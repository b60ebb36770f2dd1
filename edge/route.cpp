#include "edge/route.h"

#include <cstdint>

namespace nostr::edge {
namespace {

// Countries Cloudflare's "me" location hint serves better than "apac" or "afr".
bool middle_east(std::string_view country) {
  static constexpr std::string_view kCountries[] = {"AE", "BH", "IL", "IQ", "IR", "JO", "KW", "LB",
                                                    "OM", "PS", "QA", "SA", "SY", "YE", "EG"};
  for (const std::string_view c : kCountries) {
    if (c == country) return true;
  }
  return false;
}

// The value of `key` in a query string ("a=1&b=2"), or nullopt.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (const char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

}  // namespace

std::string_view region_of(const RouteInput& in, const RelayConfig& config) {
  const std::string_view c = in.continent;
  if (middle_east(in.country)) return "me";
  if (c == "NA") return in.longitude && *in.longitude < -100 ? "wnam" : "enam";
  if (c == "SA") return "sam";
  if (c == "EU") return in.longitude && *in.longitude >= 20 ? "eeur" : "weur";
  if (c == "AS") return "apac";
  if (c == "OC" || c == "AN") return "oc";
  if (c == "AF") return "afr";
  return config.default_region;
}

ObjectChoice choose_object(const RouteInput& in, const RelayConfig& config) {
  if (!config.several_objects()) return {"relay", ""};
  std::string region(config.regions ? region_of(in, config) : std::string_view("all"));
  uint32_t shard = in.client_ip.empty() ? 0 : fnv1a(in.client_ip) % config.shards;
  if (config.route_pinning) {
    if (auto r = query_value(in.query, "region"); r && config.regions && is_location_hint(*r))
      region.assign(*r);
    if (auto s = query_value(in.query, "shard")) {
      uint32_t n = 0;
      bool ok = !s->empty() && s->size() <= 2;
      for (const char ch : *s)
        ok = ok && ch >= '0' && ch <= '9' && ((n = n * 10 + static_cast<uint32_t>(ch - '0')), true);
      if (ok && n < config.shards) shard = n;
    }
  }
  return {"relay:" + region + ":" + std::to_string(shard), config.regions ? region : std::string()};
}

}  // namespace nostr::edge
