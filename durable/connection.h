// Connection: what the engine keeps for one open socket or HTTP API call:
// its metadata and logins, its subscriptions by sub id, and what it holds of
// the per-connection budgets (filters, events waiting for storage, COUNTs,
// stored-query steps and reads, output pacing, rate-limit buckets). The
// engine (durable/relay*.cpp) reads and updates it; the relay-wide budgets
// are the components' (WriteQueue, QueryBudget, Subscriptions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/policy.h"
#include "durable/api_call.h"
#include "durable/conn_id.h"
#include "durable/conn_state.h"
#include "durable/pending_ops.h"
#include "durable/reply.h"
#include "durable/subscription_index.h"

namespace nostr::durable {

struct Connection {
  // Set for an HTTP API call's connection: its replies go there, not to a
  // socket; it is not counted as a connection, keeps no state for
  // hibernation and gets no live events.
  std::unique_ptr<ApiCall> api;
  // Set for an in-process client's connection (Relay::open_local): its
  // replies go there as typed values, not to a socket. Borrowed.
  ReplySink* local = nullptr;
  ConnMeta meta;
  std::string challenge;
  std::vector<Pubkey> authed;
  uint64_t auth_deadline = 0;  // NIP-42 required: closed at this time unless authed (0: none)
  std::map<std::string, SubHandle> subs;  // by sub id
  // Subscriptions are kept in the socket attachment (memory, no storage I/O)
  // until the state outgrows it; then in DO SQLite (table subs) for good.
  bool subs_in_sql = false;
  size_t filter_bytes = 0;
  uint32_t pending_events = 0;  // verified, waiting for their D1 write
  uint32_t pending_counts = 0;  // COUNTs accepted and not answered (in flight or waiting)
  // COUNTs behind the one read in flight: a connection reads one COUNT at a
  // time, so a COUNT flood cannot hold the store ahead of other clients'
  // reads (at most limits.max_pending_counts - 1 wait here).
  std::deque<std::pair<PendingCount, SqlStatement>> counts_waiting;
  // Stored-query steps waiting for budget. Pages go before ids queries:
  // pages are what give the answers' (list) budget back, so they never wait
  // behind a query that waits for it.
  std::deque<SubHandle> page_steps;
  std::deque<SubHandle> ids_steps;
  size_t pending_event_bytes = 0;  // raw bytes of pending_events
  bool scheduled = false;          // has a turn in queries_ (QueryBudget::schedule)
  uint32_t queries_in_flight = 0;  // its D1 reads (ids queries, pages)
  // Output pacing of stored-query pages (limits.max_query_output_rate).
  uint64_t output_tokens = 0;
  uint64_t tokens_at = 0;  // when output_tokens was last refilled
  // Rate limits (config rate_limits), kept in its ConnState.
  ConnBuckets buckets;
};

}  // namespace nostr::durable
