// PendingOp: everything the engine waits for from its host, by token
// (durable/token_table.h): the engine's own operations below and the
// components' tickets. Every alternative names the completion it waits for
// (durable/completion.h; a missing kCompletion does not compile), and
// completions are routed by an exhaustive std::visit (Relay::store_done,
// local_sql_done, archive_done).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "durable/completion.h"
#include "durable/conn_id.h"
#include "durable/maintenance.h"
#include "durable/management.h"
#include "durable/neg_syncs.h"
#include "durable/ops_log.h"
#include "durable/peers.h"
#include "durable/rate_limits.h"
#include "durable/retention.h"
#include "durable/subscription_index.h"
#include "durable/write_queue.h"

namespace nostr::durable {

// A D1 read in flight for a subscription: the ids query or one page.
struct PendingQuery {
  static constexpr Completion kCompletion = Completion::store;
  ConnId conn;
  SubHandle handle;
  bool page;
  size_t reserved;  // bytes charged until it completes
  size_t rows;      // page: how many rows from sub.next_row it covers
  size_t prefetch;  // ids query: page-budget bytes reserved for raw JSON it may return
  int64_t publishes =
      0;  // ids query: the interest version its batch publishes (last statement), or 0
};
struct PendingCount {
  static constexpr Completion kCompletion = Completion::store;
  ConnId conn;
  std::string sub;
  bool hll = false;  // plan_count_hll's rows, not plan_count's
};
struct PendingSchema {  // LocalSql: the local schema's version
  static constexpr Completion kCompletion = Completion::local_sql;
};
struct PendingRestore {  // LocalSql: the persisted subscriptions
  static constexpr Completion kCompletion = Completion::local_sql;
};
struct PendingWakes {  // LocalSql: the wake counter
  static constexpr Completion kCompletion = Completion::local_sql;
};
// Everything the engine waits for from its host, by token.
using PendingOp =
    std::variant<WriteBatch, PendingQuery, PendingCount, Maintenance::Sweep, Maintenance::Vanish,
                 NegSyncs::Page, PendingSchema, PendingRestore, Maintenance::SavedRead,
                 RateLimiter::SavedRead, PendingWakes, OpsLog::SavedRead, Management::Load,
                 Management::Version, Management::Request, Peers::Publish, Peers::SummariesRead,
                 RetentionRuns::Select, RetentionRuns::Written, RetentionRuns::Deleted>;

}  // namespace nostr::durable
