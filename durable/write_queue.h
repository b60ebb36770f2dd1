// WriteQueue: group commit of verified events into store batches. It owns the
// events waiting to be stored, the one batch in flight, the relay-wide bytes
// they hold (limits.max_pending_event_bytes_total), and the subscriptions
// whose stored answers raced that batch. The engine decides what may wait
// (policy, per-connection budgets) and what each outcome means; this decides
// how waiting events become batches.
//
//   push(...)            an event to store (its bytes are held until release)
//   take_batch(extra)    the next batch, when none is in flight and any wait
//   sent(token)          the batch's store action went out with `token`
//   done()               its completion came: subscriptions to forget answers of
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/verify.h"
#include "core/write_plan.h"
#include "durable/completion.h"
#include "durable/conn_id.h"
#include "durable/subscription_index.h"

namespace nostr::durable {

// A verified event waiting for (or inside) a store batch.
struct PendingStore {
  ConnId conn;
  std::unique_ptr<VerifiedEvent> event;
  StorePlan plan;  // moved into the batch when sent
  // NIP-62 from an author the write rules refuse: only the deletion it asks
  // for is kept (plan_vanish_only); it is never served, fanned out or forwarded.
  bool hidden = false;
  size_t cost = 0;  // write-budget bytes it holds (WriteQueue::cost_of)
};

// A store batch in flight: its events, and the plan's indexes to read each
// event's outcome from the results.
struct WriteBatch {
  static constexpr Completion kCompletion = Completion::store;
  std::vector<PendingStore> events;
  StoreBatch plan;           // statements already sent; probe/status indexes kept
  bool reads_peers = false;  // its last statement is plan_peer_summaries
};

class WriteQueue {
 public:
  // Statements per store batch. D1 counts each statement as a query and the
  // free plan allows 50 per invocation; a batch never exceeds that.
  static constexpr size_t kMaxBatchStatements = 50;
  // Events per batch: bounds the parameters (~1 KB per event) and the latency
  // a large batch adds to its first event.
  static constexpr size_t kMaxBatchEvents = 64;
  // Write-budget bytes an event waiting for storage holds beyond its raw
  // JSON: its queue entry and the fixed parts of its store plan, so that many
  // tiny events cannot hold much more memory than the byte budgets say.
  static constexpr size_t kPendingOverhead = 512;
  static size_t cost_of(const Event& e) { return e.raw().size() + kPendingOverhead; }

  explicit WriteQueue(const Limits& limits) : limits_(limits) {}

  // Whether `cost` more bytes fit the relay-wide budget.
  bool room_for(size_t cost) const {
    return bytes_ + cost <= limits_.max_pending_event_bytes_total;
  }
  // Bytes held by events waiting or in flight.
  size_t bytes() const { return bytes_; }
  // Queues `p`, holding p.cost bytes until release(p.cost).
  void push(PendingStore p) {
    bytes_ += p.cost;
    waiting_.push_back(std::move(p));
  }
  // Gives back bytes an event held (stored, refused, or failed).
  void release(size_t cost) { bytes_ -= std::min(bytes_, cost); }
  // Events not yet in a batch, oldest first: the engine re-checks them
  // against the write policy before each batch, and may take them out.
  std::deque<PendingStore>& waiting() { return waiting_; }
  bool has_waiting() const { return !waiting_.empty(); }

  bool in_flight() const { return token_ != 0; }
  // The token of the batch in flight, or 0.
  uint32_t in_flight_token() const { return token_; }
  // Returns the next batch: waiting events, oldest first, while the batch has
  // at most kMaxBatchEvents events and kMaxBatchStatements statements
  // (plan_store_batch's, plus `extra` the engine appends); the first event
  // always goes.
  // nullopt if a batch is in flight or nothing waits. The plan's statements
  // are for the store action; send it, then call sent().
  std::optional<WriteBatch> take_batch(size_t extra);
  void sent(uint32_t token) { token_ = token; }
  // The batch in flight completed. Returns the subscriptions noted with
  // note_answered() meanwhile.
  std::vector<SubHandle> done() {
    token_ = 0;
    return std::exchange(answered_, {});
  }
  // A stored answer sent while the batch was in flight: its ids are kept
  // until done() (the batch's fan-out must not repeat them).
  void note_answered(SubHandle h) { answered_.push_back(h); }

 private:
  const Limits& limits_;
  std::deque<PendingStore> waiting_;
  size_t bytes_ = 0;
  uint32_t token_ = 0;               // the batch in flight (0: none)
  std::vector<SubHandle> answered_;  // holding `answered` until token_ completes
};

}  // namespace nostr::durable
