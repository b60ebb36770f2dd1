// Subscriptions: every open REQ of the engine, by handle, with the relay-wide
// filter bytes they hold (limits.max_filter_bytes_total). A Subscription
// carries its filters and the state of its stored answer (the ids query, the
// pages, what was prefetched or sent before EOSE); the engine drives it
// (durable/relay_reads.cpp). Connections name their subscriptions by sub id
// (Connection::subs, durable/connection.h); this table owns them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/filter.h"
#include "core/message.h"
#include "durable/conn_id.h"
#include "durable/subscription_index.h"

namespace nostr::durable {

// One stored event a REQ will send: its id, for ordering, and its size, for paging.
struct StoredRow {
  uint64_t created_at;
  EventId id;
  uint32_t size;
};
enum class QueryStage : uint8_t { none, ids_waiting, ids_in_flight, page_waiting, page_in_flight };
struct Subscription {
  Subscription(ConnId c, SubId i, std::vector<CompiledFilter> f)
      : conn(c), id(std::move(i)), filters(std::move(f)) {}
  ConnId conn;
  SubId id;
  std::vector<CompiledFilter> filters;
  size_t cost = 0;    // filter bytes charged to the budgets
  bool live = false;  // EOSE sent
  QueryStage stage = QueryStage::none;
  std::vector<StoredRow> rows;  // the stored answer, newest first or ranked (after the ids query)
  size_t next_row = 0;          // first row not yet fetched
  size_t list_bytes = 0;        // charged for `rows` while paging
  // Raw JSON the ids query already returned for rows not sent yet (row
  // index ascending), charged to the page budget until sent.
  std::vector<std::pair<size_t, std::string>> prefetched;
  size_t prefetched_next = 0;  // first entry of `prefetched` not sent
  size_t prefetch_bytes = 0;
  std::vector<EventId> sent_before_eose;  // live deliveries racing the ids query
  // The write batch in flight when the ids query started (0: none): its
  // events may be in the answer, and are fanned out only when it completes,
  // so until then the answer's ids are kept to deliver each event once.
  uint32_t racing_batch = 0;
  std::vector<EventId> answered;  // sorted; kept while racing_batch is in flight
};
// A subscription with a NIP-50 search: its stored answer is in relevance order.
inline bool ranked(const Subscription& s) {
  return std::any_of(s.filters.begin(), s.filters.end(),
                     [](const CompiledFilter& f) { return f.search_query(); });
}

class Subscriptions {
 public:
  // Adds `s`, holding s->cost filter bytes until erase(). Returns its handle
  // (never 0, never reused).
  SubHandle add(std::unique_ptr<Subscription> s) {
    const SubHandle h = next_++;
    bytes_ += s->cost;
    subs_.emplace(h, std::move(s));
    return h;
  }
  // The subscription `h`, or nullptr if it is gone.
  Subscription* find(SubHandle h) {
    auto it = subs_.find(h);
    return it == subs_.end() ? nullptr : it->second.get();
  }
  // The subscription `h`, which must exist.
  Subscription& at(SubHandle h) { return *subs_.at(h); }
  // Removes `h` and gives back its filter bytes.
  void erase(SubHandle h) {
    auto it = subs_.find(h);
    if (it == subs_.end()) return;
    bytes_ -= it->second->cost;
    subs_.erase(it);
  }
  size_t size() const { return subs_.size(); }
  // Filter bytes held by all subscriptions.
  size_t filter_bytes() const { return bytes_; }

 private:
  std::unordered_map<SubHandle, std::unique_ptr<Subscription>> subs_;
  SubHandle next_ = 1;
  size_t bytes_ = 0;
};

}  // namespace nostr::durable
