// Rate limits (core/config.h RateLimits) as a component: token buckets per
// connection (borrowed: they live in the connection's ConnState), per remote
// address and per pubkey (owned here, bounded, kept in local SQL table
// buckets). Changed buckets are saved kFlushDelay seconds after the first
// change, so that hibernating does not refill them.
//
// It answers to the engine, which decides exemptions (Policy::rate_exempt),
// sends the refusals it returns and closes a connection when refused() says
// so; it counts Metrics::rate_limited and rate_disconnects. It owns nothing
// of the engine's but the buckets it is lent for a call.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/rate_limit.h"
#include "core/reject.h"
#include "core/results.h"
#include "core/sql.h"
#include "core/types.h"
#include "durable/action.h"
#include "durable/completion.h"
#include "durable/conn_id.h"
#include "durable/conn_state.h"
#include "durable/metrics.h"

namespace nostr::durable {

class RateLimiter {
 public:
  // Keys per cross-connection bucket map (addresses, pubkeys).
  static constexpr size_t kMaxBucketKeys = 20000;
  // Bucket state is saved this long after it changed (coalescing a burst).
  static constexpr uint64_t kFlushDelay = 1;

  // The read of the saved buckets at a wake (a LocalSql with rows).
  struct SavedRead {
    static constexpr Completion kCompletion = Completion::local_sql;
  };
  static SqlStatement saved_read();

  // Who is charged: a connection, its buckets (borrowed for the call) and its
  // remote address ("" when unknown: no address bucket).
  struct Client {
    ConnId conn;
    ConnBuckets& buckets;
    std::string_view ip;
  };

  // Borrows `limits` and `metrics` for its lifetime.
  RateLimiter(const RateLimits& limits, Metrics& metrics) : limits_(limits), metrics_(metrics) {}

  // One more EVENT before its author is known: charges the connection's and
  // the address's buckets. Returns the refusal ("rate-limited: ...") when one
  // is empty, else nullopt.
  [[nodiscard]] std::optional<Reject> charge_event(Client c, uint64_t now);
  // Gives back charge_event's tokens: the verified author is exempt.
  void refund_event(Client c, uint64_t now);
  // After verification: the proven author's bucket (never charged for a
  // forgery). Returns the refusal, or nullopt.
  [[nodiscard]] std::optional<Reject> charge_author(Client c, const Pubkey& author, uint64_t now);
  // One more REQ, COUNT or NEG message: the connection's, the address's and
  // each logged-in pubkey's buckets. Returns the refusal, or nullopt.
  [[nodiscard]] std::optional<Reject> charge_req(Client c, std::span<const Pubkey> authed,
                                                 uint64_t now);
  // A refusal was answered (`rate`: over a rate limit; else an event that
  // failed verification): counted against rate_limits.max_refusals a minute.
  // Returns the reason to close the connection with once past it, or nullopt.
  [[nodiscard]] std::optional<Reject> refused(Client c, uint64_t now, bool rate);
  // The connection is gone: its state is not saved again.
  void forget(ConnId conn) { dirty_conns_.erase(conn); }

  // When the changed buckets are due to be saved, or nullopt.
  std::optional<uint64_t> next_deadline() const { return flush_at_; }
  // When due: saves the changed address and pubkey buckets worth keeping
  // (LocalSql actions), drops rows untouched for a day, and returns the
  // connections whose buckets changed (the engine saves their ConnState).
  std::vector<ConnId> on_timer(uint64_t now, Outbox& out);
  // The saved rows (SavedRead's results): buckets not known yet are restored.
  void on_saved(const BatchResult& r);

  // Keys held in all four maps together (for tests).
  size_t keys() const {
    return event_ip_.size() + event_pubkey_.size() + req_ip_.size() + req_pubkey_.size();
  }

 private:
  void changed(ConnId conn, uint64_t now);

  const RateLimits& limits_;
  Metrics& metrics_;
  BucketMap event_ip_{kMaxBucketKeys}, event_pubkey_{kMaxBucketKeys};
  BucketMap req_ip_{kMaxBucketKeys}, req_pubkey_{kMaxBucketKeys};
  std::set<ConnId> dirty_conns_;
  std::optional<uint64_t> flush_at_;
};

}  // namespace nostr::durable
