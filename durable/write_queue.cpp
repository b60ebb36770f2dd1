#include "durable/write_queue.h"

namespace nostr::durable {

std::optional<WriteBatch> WriteQueue::take_batch(size_t extra) {
  if (in_flight() || waiting_.empty()) return std::nullopt;
  WriteBatch batch;
  std::vector<StorePlan> plans;
  size_t statements = 2 + extra;  // plan_store_batch's tag insert and status query
  while (!waiting_.empty() && plans.size() < kMaxBatchEvents) {
    PendingStore& w = waiting_.front();
    const size_t cost = batch_statements(w.plan, plans.empty() ? nullptr : &plans.back());
    if (!plans.empty() && statements + cost > kMaxBatchStatements) break;
    statements += cost;
    plans.push_back(std::move(w.plan));
    batch.events.push_back(std::move(w));
    waiting_.pop_front();
  }
  batch.plan = plan_store_batch(std::move(plans));
  return batch;
}

}  // namespace nostr::durable
