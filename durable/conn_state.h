// ConnState: what of a connection survives hibernation, kept with its socket
// (the SaveConnState action; the socket attachment on Cloudflare) and handed
// back to Relay::open when the object wakes. Subscriptions travel here while
// they fit (no storage I/O per REQ/CLOSE); past kMaxBytes they move to local
// SQL for good and the state only says so.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/policy.h"
#include "core/rate_limit.h"
#include "core/types.h"

namespace nostr::durable {

// A connection's rate-limit buckets (config rate_limits).
struct ConnBuckets {
  Bucket event, req, refusals;
};

struct ConnState {
  ConnMeta meta;
  std::string challenge;       // the NIP-42 challenge this socket was sent
  std::vector<Pubkey> authed;  // NIP-42 logins, in order
  bool subs_in_local_sql = false;
  // Subscription id -> its filters as a JSON array text (when not in local SQL).
  std::vector<std::pair<std::string, std::string>> subs;
  ConnBuckets buckets;

  // Cloudflare allows 16 KiB of attachment per socket; the state stays below.
  static constexpr size_t kMaxBytes = 12 * 1024;

  // {"meta":{..},"challenge":..,"authed":[hex..],"subs":[[id,[filter..]]..]},
  // or "sql":true instead of "subs".
  std::string to_json() const;
  // Reads what to_json wrote, leniently: a field that is missing or malformed
  // is left empty (the host's bug, or an older engine's state, must not refuse
  // the socket); at most `max_logins` logins and kMaxChallenge challenge bytes.
  static ConnState from_json(std::string_view json, size_t max_logins);

  static constexpr size_t kMaxChallenge = 64;
};

}  // namespace nostr::durable
