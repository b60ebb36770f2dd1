// QueryBudget: the relay-wide budgets of stored queries (docs/limits.md) and
// the turns connections take for read slots. It owns the bytes held by ids
// answers (`list`) and by pages of raw events (`page`) against
// limits.max_query_bytes_total, the reads in flight against
// limits.max_queries_in_flight_total, and the round-robin of connections with
// waiting steps. The engine owns the steps themselves (per connection and
// subscription) and what a read asks for.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "core/config.h"
#include "durable/conn_id.h"

namespace nostr::durable {

class QueryBudget {
 public:
  explicit QueryBudget(const Limits& limits) : limits_(limits) {}

  // Whether an ids query may hold `bytes` more: answers (ids, not events) are
  // held by at most half the budget, so pages always have the other half and
  // paging never deadlocks. The first is always admitted.
  bool list_fits(size_t bytes) const {
    return list_ == 0 || list_ + bytes <= limits_.max_query_bytes_total / 2;
  }
  // Whether a page may hold `bytes` more (the first is always admitted).
  bool page_fits(size_t bytes) const {
    return page_ == 0 || list_ + page_ + bytes <= limits_.max_query_bytes_total;
  }
  // Page bytes an ids query may reserve for the raw JSON of its first page:
  // one page if the budget has room for it, else 0.
  size_t prefetch_room() const {
    return list_ + page_ + limits_.max_query_page_bytes <= limits_.max_query_bytes_total
               ? limits_.max_query_page_bytes
               : 0;
  }
  void hold_list(size_t bytes) { list_ += bytes; }
  void release_list(size_t bytes) {
    assert(bytes <= list_);
    list_ -= bytes;
  }
  void hold_page(size_t bytes) { page_ += bytes; }
  void release_page(size_t bytes) {
    assert(bytes <= page_);
    page_ -= bytes;
  }
  size_t list_bytes() const { return list_; }
  size_t page_bytes() const { return page_; }

  // Reads in flight, relay-wide.
  bool slot_free() const { return in_flight_ < limits_.max_queries_in_flight_total; }
  void read_started() { ++in_flight_; }
  void read_done() {
    assert(in_flight_ > 0);
    --in_flight_;
  }
  size_t reads_in_flight() const { return in_flight_; }

  // Connection `conn` has steps waiting (call once until it has none left).
  void schedule(ConnId conn) { turns_.push_back(conn); }
  // Offers read slots to scheduled connections: one pass per level (0 reads
  // in flight, then 1, ... up to `levels` - 1), round-robin within a pass, so
  // a client waiting for its first read never queues behind others' second.
  // `turn(conn, level)` starts a step if it should and returns whether conn
  // still has steps waiting (then it keeps its place in the rotation).
  // O(connections x levels).
  template <class Turn>
  void run_turns(uint32_t levels, Turn&& turn) {
    for (uint32_t level = 0; level < levels && !turns_.empty(); ++level) {
      for (size_t n = turns_.size(); n > 0 && !turns_.empty(); --n) {
        const ConnId conn = turns_.front();
        turns_.pop_front();
        if (turn(conn, level)) turns_.push_back(conn);
      }
    }
  }

 private:
  const Limits& limits_;
  size_t list_ = 0;  // ids queries in flight + answers being paged
  size_t page_ = 0;  // pages in flight and prefetched raw JSON
  size_t in_flight_ = 0;
  std::deque<ConnId> turns_;  // connections with waiting steps
};

}  // namespace nostr::durable
