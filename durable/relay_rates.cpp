// Relay: rate limits (config rate_limits). Token buckets per connection (kept
// in its ConnState), per remote address and per pubkey (kept in local SQL
// table buckets, one row each, only when hibernating would refill them), saved
// at most once a second so that hibernation does not refill them. Exempt: unlimited addresses,
// trusted pubkeys, administrators.
#include <algorithm>

#include "core/json_writer.h"
#include "core/relay_message.h"
#include "core/text.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using namespace internal;

namespace {

// Bucket state is saved this long after it changed (coalescing a burst).
constexpr uint64_t kRateFlushDelay = 1;
// Saved buckets untouched this long are full again: dropped.
constexpr uint64_t kBucketRetention = 86400;
// An object hibernates after about this long idle; a bucket that refills
// within it is not worth a (billed) row: losing it gives nothing away.
constexpr uint64_t kIdleBeforeHibernation = 10;

bool worth_saving(const Bucket& b, const RateLimit& l, uint64_t now) {
  return !bucket_full(b, l, now + kIdleBeforeHibernation);
}

std::string too_fast(std::string_view what, std::string_view scope) {
  return "rate-limited: too many " + std::string(what) + " from this " + std::string(scope) +
         ", slow down";
}

}  // namespace

bool Relay::rate_event(uint32_t conn, Connection& c, const Event& e, const Pubkey* verified_author,
                       uint64_t now) {
  const RateLimits& rl = config_.rate_limits;
  // Only a verified author is exempt: a claimed administrator's pubkey on a
  // forged event is charged like any other (and its failure is a refusal).
  if (policy_.rate_exempt(view(c), verified_author)) return true;
  std::string why;
  if (!take_token(c.buckets.event, rl.event_per_connection, now)) {
    why = too_fast("events", "connection");
  } else if (!c.meta.ip.empty() &&
             !event_ip_buckets_.take(address_key(c.meta.ip), rl.event_per_ip, now)) {
    why = too_fast("events", "address");
  }
  mark_buckets_dirty(c, now);
  if (why.empty()) return true;
  send_ok(conn, e.id(), false, why);
  count_refusal(conn, c, now);
  return false;
}

void Relay::refund_exempt_author(Connection& c, const Event& e, uint64_t now) {
  if (policy_.rate_exempt(view(c), nullptr) || !policy_.rate_exempt(view(c), &e.pubkey())) return;
  const RateLimits& rl = config_.rate_limits;
  give_token(c.buckets.event, rl.event_per_connection, now);
  if (!c.meta.ip.empty()) event_ip_buckets_.give(address_key(c.meta.ip), rl.event_per_ip, now);
  mark_buckets_dirty(c, now);
}

// After verification: the proven author's bucket (never charged for forgeries).
bool Relay::rate_event_author(uint32_t conn, Connection& c, const Event& e, uint64_t now) {
  const RateLimits& rl = config_.rate_limits;
  if (rl.event_per_pubkey.per_minute == 0 || policy_.rate_exempt(view(c), &e.pubkey())) return true;
  const bool ok = event_pubkey_buckets_.take(e.pubkey().hex(), rl.event_per_pubkey, now);
  mark_buckets_dirty(c, now);
  if (ok) return true;
  send_ok(conn, e.id(), false, too_fast("events", "pubkey"));
  count_refusal(conn, c, now);
  return false;
}

bool Relay::rate_req(uint32_t conn, Connection& c, const SubId& sub, uint64_t now, bool neg) {
  const RateLimits& rl = config_.rate_limits;
  if (policy_.rate_exempt(view(c), nullptr)) return true;
  std::string why;
  if (!take_token(c.buckets.req, rl.req_per_connection, now)) {
    why = too_fast("subscription requests", "connection");
  } else if (!c.meta.ip.empty() &&
             !req_ip_buckets_.take(address_key(c.meta.ip), rl.req_per_ip, now)) {
    why = too_fast("subscription requests", "address");
  } else {
    for (const Pubkey& pk : c.authed) {
      if (!req_pubkey_buckets_.take(pk.hex(), rl.req_per_pubkey, now)) {
        why = too_fast("subscription requests", "pubkey");
        break;
      }
    }
  }
  mark_buckets_dirty(c, now);
  if (why.empty()) return true;
  ++metrics_.reqs_refused;
  log_refusal(conn, neg ? "NEG" : "REQ", why);
  if (neg) {
    negs_.fail(conn, sub.str(), why, out_);
  } else {
    out_.send(conn, closed_message(sub.str(), why));
  }
  count_refusal(conn, c, now);
  return false;
}

void Relay::count_refusal(uint32_t conn, Connection& c, uint64_t now, bool rate) {
  if (rate) ++metrics_.rate_limited;
  const uint32_t n = config_.rate_limits.max_refusals;
  // max_refusals a minute, and as a burst.
  if (take_token(c.buckets.refusals, RateLimit{n, n}, now)) return;
  ++metrics_.rate_disconnects;
  const std::string why =
      rate ? "rate-limited: too many messages over the rate limit; closing the connection"
           : "rate-limited: too many refused messages (events that fail verification count); "
             "closing the connection";
  log_refusal(conn, "connection", why);
  out_.send(conn, notice_message(why));
  out_.close(conn, 1008, why);
  close(conn);
}

void Relay::mark_buckets_dirty(Connection& c, uint64_t now) {
  c.buckets_dirty = true;
  if (!timers_.armed(Timer::rate_flush)) timers_.set(Timer::rate_flush, now + kRateFlushDelay);
}

void Relay::flush_rate_state(uint64_t now) {
  timers_.clear(Timer::rate_flush);
  for (auto& [conn, c] : conns_) {
    if (!c.buckets_dirty) continue;
    c.buckets_dirty = false;
    attach_state(conn, c);
  }
  const RateLimits& rl = config_.rate_limits;
  auto save = [&](BucketMap& m, std::string_view prefix, const RateLimit& limit) {
    for (const auto& [key, b] : m.take_dirty()) {
      if (!worth_saving(b, limit, now)) continue;
      out_.local_sql(0,
                     stmt_json({"INSERT OR REPLACE INTO buckets (key, milli, at) VALUES (?, ?, ?)",
                                {SqlParam::of(std::string(prefix) + key),
                                 SqlParam::of(static_cast<int64_t>(b.milli)),
                                 SqlParam::of(static_cast<int64_t>(b.at))}}));
    }
  };
  save(event_ip_buckets_, "ei:", rl.event_per_ip);
  save(event_pubkey_buckets_, "ep:", rl.event_per_pubkey);
  save(req_ip_buckets_, "ri:", rl.req_per_ip);
  save(req_pubkey_buckets_, "rp:", rl.req_per_pubkey);
  if (now > kBucketRetention) {
    out_.local_sql(0, stmt_json({"DELETE FROM buckets WHERE at < ?",
                                 {SqlParam::of(static_cast<int64_t>(now - kBucketRetention))}}));
  }
}

void Relay::on_bucket_rows(std::string_view results) {
  std::vector<ResultSet> rs;
  if (!parse_results(results, rs) || rs.size() != 1 || rs[0].cols != 3) return;
  for (uint32_t r = 0; r < rs[0].rows; ++r) {
    const std::string_view key = rs[0].cell(r, 0);
    uint64_t milli = 0, at = 0;
    if (key.size() < 4 || !parse_decimal(rs[0].cell(r, 1), milli) ||
        !parse_decimal(rs[0].cell(r, 2), at))
      continue;
    const std::string_view prefix = key.substr(0, 3);
    BucketMap* m = prefix == "ei:"   ? &event_ip_buckets_
                   : prefix == "ep:" ? &event_pubkey_buckets_
                   : prefix == "ri:" ? &req_ip_buckets_
                   : prefix == "rp:" ? &req_pubkey_buckets_
                                     : nullptr;
    if (m) m->restore(std::string(key.substr(3)), Bucket{milli, at, true});
  }
}

}  // namespace nostr::durable
