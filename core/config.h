// Relay configuration: what an operator sets in wrangler.toml [vars].RELAY_CONFIG.
#pragma once

#include <string>
#include <vector>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"

namespace nostr {

struct RelayConfig {
  std::string name = "nostr-edge-relay";
  std::string description = "A Nostr relay on Cloudflare's edge";
  std::string pubkey;     // operator's hex pubkey, may be empty
  std::string contact;
  std::string icon;       // NIP-11 icon URL, may be empty
  std::string relay_url;  // public ws(s):// URL; NIP-42 AUTH checks the relay tag against it
  std::string software = "https://github.com/nostr-edge/nostr-edge-relay";
  std::string version = "0.1.0";
  // NIP-42 required: a connection must AUTH before it may REQ, COUNT or
  // publish, and is closed if it has not within auth_timeout seconds.
  bool auth_required = false;
  uint32_t auth_timeout = 60;
  // Remote addresses refused at connection time (exact match on the host's
  // connection metadata: CF-Connecting-IP on Cloudflare).
  std::vector<std::string> blocked_ips;
  Limits limits;
};

// Parses configuration JSON:
//   {"name":..,"description":..,"pubkey":..,"contact":..,"relay_url":..,
//    "software":..,"version":..,"auth_required":bool,"auth_timeout":seconds,
//    "blocked_ips":[string..],"limits":{<Limits field>: <integer>, ..}}
// Every key is optional (defaults above); unknown keys are refused so typos
// don't silently fall back to defaults. `json` is copied.
[[nodiscard]] Result<RelayConfig> parse_config(std::string_view json);

// Returns the NIP-11 relay information document.
std::string relay_info_json(const RelayConfig& config);

}  // namespace nostr
