// Relay configuration: what an operator sets in wrangler.toml [vars].RELAY_CONFIG.
#pragma once

#include "core/address.h"
#include <algorithm>
#include <string>
#include <vector>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"
#include "core/types.h"

namespace nostr {

// A token bucket's shape: `per_minute` tokens refill per minute up to `burst`.
// per_minute 0: no limit.
struct RateLimit {
  uint32_t per_minute = 0;
  uint32_t burst = 0;
};

// Token buckets for EVENT and for REQ/COUNT, per connection, per remote
// address (across its connections) and per pubkey (an EVENT's verified
// author; a REQ's authenticated pubkeys).
// Retention: what the relay prunes on its timer, oldest first, in bounded
// batches, each archived before it is deleted (R2 on Cloudflare, files
// natively). Rules: events of kinds [kind_from, kind_to] older than
// max_age_seconds; max_events: the newest this many events stay (a size
// high-water mark: D1 caps a database at 10 GB, ~2 KB per stored event).
struct RetentionRule {
  uint32_t kind_from = 0, kind_to = 65535;
  uint64_t max_age_seconds = 0;
};
struct Retention {
  std::vector<RetentionRule> rules;  // at most kMaxRules
  uint64_t max_events = 0;           // 0: no cap
  uint32_t interval_seconds = 3600;  // between runs (a run goes on while batches are full)
  bool archive = true;               // false: delete without archiving
  bool enabled() const { return !rules.empty() || max_events > 0; }
  static constexpr size_t kMaxRules = 16;
};

struct RateLimits {
  RateLimit event_per_connection{120, 60};
  RateLimit event_per_ip{0, 0};
  RateLimit event_per_pubkey{120, 60};
  RateLimit req_per_connection{240, 120};
  RateLimit req_per_ip{0, 0};
  RateLimit req_per_pubkey{0, 0};
  // A connection refused this many times for rate within a minute is closed.
  uint32_t max_refusals = 30;
  // Every bucket off (tests of other limits; trusted private relays).
  static RateLimits unlimited() { return RateLimits{{}, {}, {}, {}, {}, {}, 30}; }
};

// Who may write what (NIP-86 management state adds to these lists).
struct WritePolicy {
  // Only allowed_pubkeys (and those NIP-86 allowpubkey admits) may publish.
  bool restricted_writes = false;
  std::vector<Pubkey> allowed_pubkeys;
  std::vector<Pubkey> banned_pubkeys;
  // Non-empty: only these kinds are accepted (NIP-86 allowkind adds more).
  std::vector<uint32_t> allowed_kinds;
  std::vector<uint32_t> banned_kinds;
  // Content containing one of these (ASCII case-insensitive) is refused.
  std::vector<std::string> blocked_phrases;
  // Exempt from rate limits.
  std::vector<Pubkey> trusted_pubkeys;
  // Addresses and ranges (core/address.h) exempt from rate limits.
  AddressSet unlimited_ips;
};

struct RelayConfig {
  std::string name = "nostr-edge-relay";
  std::string description = "A Nostr relay on Cloudflare's edge";
  std::string pubkey;     // operator's hex pubkey, may be empty
  std::string contact;
  std::string icon;       // NIP-11 icon URL, may be empty
  // More NIP-11 fields, each omitted when empty: URLs (banner image,
  // policies), the relay's own pubkey (`self`, hex), ISO 3166-1 country codes
  // (or EU), IETF language tags, community tags.
  std::string banner;
  std::string self;
  std::string terms_of_service;
  std::string posting_policy;
  std::string privacy_policy;
  std::vector<std::string> relay_countries;
  std::vector<std::string> language_tags;
  std::vector<std::string> tags;
  std::string relay_url;  // public ws(s):// URL; NIP-42 AUTH checks the relay tag against it
  std::string software = "https://github.com/nostr-edge/nostr-edge-relay";
  std::string version = "0.1.0";
  // NIP-42 required: a connection must AUTH before it may REQ, COUNT or
  // publish, and is closed if it has not within auth_timeout seconds.
  bool auth_required = false;
  uint32_t auth_timeout = 60;
  // Remote addresses and ranges refused at connection time (the host's
  // connection metadata: CF-Connecting-IP on Cloudflare, the peer or a trusted
  // proxy's X-Forwarded-For natively), "10.0.0.0/8", "2001:db8::/48" or one address.
  AddressSet blocked_ips;
  // NIP-86 administrators: the ADMIN_PUBKEYS secret (the glue passes it as
  // "admin_pubkeys", comma-separated hex). Empty: no management API.
  std::vector<Pubkey> admin_pubkeys;
  WritePolicy write_policy;
  RateLimits rate_limits;
  Limits limits;
  // NIP-50: the kinds whose content the search index holds (sorted, unique).
  // Empty: no search (filters with `search` are refused). The relay keeps the
  // D1 table search_kinds equal to it; events stored while their kind was not
  // listed stay out of the index.
  std::vector<uint32_t> search_kinds = {0, 1, 1111, 9802, 30023};
  // Several relay objects (Cloudflare host; edge/route.h, docs/scale.md).
  // regions: the Worker sends each connection to a relay object in the
  // client's region (request.cf -> one of Cloudflare's location hints);
  // shards: objects per region, a client's address choosing among them.
  // With regions off and one shard there is one object (no forwarding).
  bool regions = true;
  uint32_t shards = 1;
  std::string default_region = "enam";  // when the request says nothing usable
  // Tests: ?region=<hint>&shard=<n> on the request chooses the object.
  bool route_pinning = false;
  Retention retention;
  // Seconds after a subscription ends before an object publishes its smaller
  // interest summary (meanwhile forwards to it may be wasted, never missed).
  uint32_t interest_shrink_seconds = 30;
  bool several_objects() const { return regions || shards > 1; }
  bool is_search_kind(uint32_t kind) const {
    return std::binary_search(search_kinds.begin(), search_kinds.end(), kind);
  }
};

// Cloudflare's Durable Object location hints: the regions relay objects live in.
inline constexpr std::string_view kLocationHints[] = {"wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"};
inline bool is_location_hint(std::string_view s) {
  for (const std::string_view h : kLocationHints) {
    if (h == s) return true;
  }
  return false;
}

// Parses configuration JSON:
//   {"name":..,"description":..,"pubkey":..,"contact":..,"relay_url":..,
//    "icon","banner","self","terms_of_service","posting_policy","privacy_policy":string,
//    "relay_countries","language_tags","tags":[string..],
//    "software":..,"version":..,"auth_required":bool,"auth_timeout":seconds,
//    "blocked_ips":[string..],"admin_pubkeys":"hex,hex..",
//    "restricted_writes":bool,"allowed_pubkeys":[hex..],"banned_pubkeys":[hex..],
//    "allowed_kinds":[int..],"banned_kinds":[int..],"blocked_phrases":[string..],
//    "trusted_pubkeys":[hex..],"unlimited_ips":[string..],"search_kinds":[int..],
//    "regions":bool,"shards":1..64,"default_region":hint,"route_pinning":bool,
//    "interest_shrink_seconds":1..3600,
//    "retention":{"rules":[{"kinds":[from,to],"max_age_days":n | "max_age_seconds":n}..],
//                 "max_events":n,"interval_seconds":n,"archive":bool},
//    "rate_limits":{"event_per_connection":{"per_minute":n,"burst":n}, ..,
//                   "max_refusals":n},
//    "limits":{<Limits field>: <integer>, ..}}
// Every key is optional (defaults above); unknown keys are refused so typos
// don't silently fall back to defaults. `json` is copied.
[[nodiscard]] Result<RelayConfig> parse_config(std::string_view json);

// Returns the NIP-11 relay information document.
std::string relay_info_json(const RelayConfig& config);

}  // namespace nostr
