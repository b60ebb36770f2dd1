// Rate limits: token buckets per connection, address and pubkey
// (durable/rate_limits.h).
#include "durable/rate_limits.h"

#include "core/address.h"
#include "core/results.h"
#include "core/text.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

namespace {

// Saved buckets untouched this long are full again: dropped.
constexpr uint64_t kBucketRetention = 86400;
// An object hibernates after about this long idle; a bucket that refills
// within it is not worth a (billed) row: losing it gives nothing away.
constexpr uint64_t kIdleBeforeHibernation = 10;

bool worth_saving(const Bucket& b, const RateLimit& l, uint64_t now) {
  return !bucket_full(b, l, now + kIdleBeforeHibernation);
}

Reject too_fast(std::string_view what, std::string_view scope) {
  return reject(Code::rate_limited, "too many " + std::string(what) + " from this " +
                                        std::string(scope) + ", slow down");
}

}  // namespace

SqlStatement RateLimiter::saved_read() { return {"SELECT key, milli, at FROM buckets", {}}; }

void RateLimiter::changed(ConnId conn, uint64_t now) {
  dirty_conns_.insert(conn);
  if (!flush_at_) flush_at_ = now + kFlushDelay;
}

std::optional<Reject> RateLimiter::charge_event(Client c, uint64_t now) {
  std::optional<Reject> why;
  if (!take_token(c.buckets.event, limits_.event_per_connection, now)) {
    why = too_fast("events", "connection");
  } else if (!c.ip.empty() && !event_ip_.take(address_key(c.ip), limits_.event_per_ip, now)) {
    why = too_fast("events", "address");
  }
  changed(c.conn, now);
  return why;
}

void RateLimiter::refund_event(Client c, uint64_t now) {
  give_token(c.buckets.event, limits_.event_per_connection, now);
  if (!c.ip.empty()) event_ip_.give(address_key(c.ip), limits_.event_per_ip, now);
  changed(c.conn, now);
}

std::optional<Reject> RateLimiter::charge_author(Client c, const Pubkey& author, uint64_t now) {
  if (limits_.event_per_pubkey.per_minute == 0) return std::nullopt;
  const bool ok = event_pubkey_.take(author.hex(), limits_.event_per_pubkey, now);
  changed(c.conn, now);
  if (ok) return std::nullopt;
  return too_fast("events", "pubkey");
}

std::optional<Reject> RateLimiter::charge_req(Client c, std::span<const Pubkey> authed,
                                              uint64_t now) {
  std::optional<Reject> why;
  if (!take_token(c.buckets.req, limits_.req_per_connection, now)) {
    why = too_fast("subscription requests", "connection");
  } else if (!c.ip.empty() && !req_ip_.take(address_key(c.ip), limits_.req_per_ip, now)) {
    why = too_fast("subscription requests", "address");
  } else {
    for (const Pubkey& pk : authed) {
      if (!req_pubkey_.take(pk.hex(), limits_.req_per_pubkey, now)) {
        why = too_fast("subscription requests", "pubkey");
        break;
      }
    }
  }
  changed(c.conn, now);
  return why;
}

std::optional<Reject> RateLimiter::refused(Client c, uint64_t now, bool rate) {
  if (rate) ++metrics_.rate_limited;
  const uint32_t n = limits_.max_refusals;
  // max_refusals a minute, and as a burst.
  const bool room = take_token(c.buckets.refusals, RateLimit{n, n}, now);
  changed(c.conn, now);
  if (room) return std::nullopt;
  ++metrics_.rate_disconnects;
  return reject(Code::rate_limited,
                rate ? "too many messages over the rate limit; closing the connection"
                     : "too many refused messages (events that fail verification count); "
                       "closing the connection");
}

std::vector<ConnId> RateLimiter::on_timer(uint64_t now, Outbox& out) {
  if (!flush_at_ || now < *flush_at_) return {};
  flush_at_.reset();
  auto save = [&](BucketMap& m, std::string_view prefix, const RateLimit& limit) {
    for (const auto& [key, b] : m.take_dirty()) {
      if (!worth_saving(b, limit, now)) continue;
      out.local_sql(
          0, {"INSERT OR REPLACE INTO buckets (key, milli, at) VALUES (?, ?, ?)",
              {SqlParam::of(std::string(prefix) + key), SqlParam::of(static_cast<int64_t>(b.milli)),
               SqlParam::of(static_cast<int64_t>(b.at))}});
    }
  };
  save(event_ip_, "ei:", limits_.event_per_ip);
  save(event_pubkey_, "ep:", limits_.event_per_pubkey);
  save(req_ip_, "ri:", limits_.req_per_ip);
  save(req_pubkey_, "rp:", limits_.req_per_pubkey);
  if (now > kBucketRetention) {
    out.local_sql(0, {"DELETE FROM buckets WHERE at < ?",
                      {SqlParam::of(static_cast<int64_t>(now - kBucketRetention))}});
  }
  std::vector<ConnId> conns(dirty_conns_.begin(), dirty_conns_.end());
  dirty_conns_.clear();
  return conns;
}

void RateLimiter::on_saved(const BatchResult& r) {
  const std::vector<ResultSet>& rs = r.sets;
  if (!r.ok || rs.size() != 1 || rs[0].cols != 3) return;
  for (uint32_t r = 0; r < rs[0].rows; ++r) {
    const std::string_view key = rs[0].cell(r, 0);
    uint64_t milli = 0, at = 0;
    if (key.size() < 4 || !parse_decimal(rs[0].cell(r, 1), milli) ||
        !parse_decimal(rs[0].cell(r, 2), at))
      continue;
    const std::string_view prefix = key.substr(0, 3);
    BucketMap* m = prefix == "ei:"   ? &event_ip_
                   : prefix == "ep:" ? &event_pubkey_
                   : prefix == "ri:" ? &req_ip_
                   : prefix == "rp:" ? &req_pubkey_
                                     : nullptr;
    if (m) m->restore(std::string(key.substr(3)), Bucket{milli, at, true});
  }
}

}  // namespace nostr::durable
