// Several relay objects: interest publication, peer summaries, forwards and
// answered events (durable/peers.h).
#include "durable/peers.h"

#include <algorithm>

#include "core/json_writer.h"
#include "core/text.h"
#include "core/write_plan.h"

namespace nostr::durable {

std::optional<SqlStatement> Peers::set_name(std::string_view name, const SubscriptionIndex& index) {
  // One object (regions off, one shard): nothing to publish or forward.
  if (name.empty() || name == name_ || !config_.several_objects()) return std::nullopt;
  name_.assign(name);
  // An earlier life of this object may have published anything: the first
  // REQ publishes, and so does the first check for a smaller summary.
  unknown_ = true;
  shrink_at_ = 0;
  current_ = InterestSummary::of(index);
  // The other objects' interests before the first write: ephemeral events
  // are forwarded from what is known (stored ones read it with their batch).
  return summaries_statement();
}

SqlStatement Peers::summaries_statement() const {
  JsonObjectWriter known;
  for (const auto& [name, p] : peers_) known.uint(name, static_cast<uint64_t>(p.version));
  return plan_peer_summaries(name_, known.finish());
}

void Peers::on_summaries(const ResultSet& rs) {
  if (rs.cols != 3) return;
  for (uint32_t i = 0; i < rs.rows; ++i) {
    uint64_t v = 0;
    if (!parse_decimal(rs.cell(i, 1), v)) continue;
    const auto version = static_cast<int64_t>(v);
    auto summary = InterestSummary::decode(rs.cell(i, 2));
    if (!summary) continue;  // not ours to fix; forwards to it stay as they were
    Peer& p = peers_[std::string(rs.cell(i, 0))];
    if (version <= p.version) continue;
    p.version = version;
    p.summary = std::move(*summary);
  }
}

void Peers::forward(const Event& e) {
  if (!active() || peers_.empty()) return;
  const std::vector<std::string> keys = InterestSummary::event_keys(e);  // once, not per peer
  for (const auto& [name, p] : peers_) {
    if (!p.summary.may_match(keys)) continue;
    std::string& q = forward_queue_[name];
    q.append(e.raw());
    q.push_back('\n');
    ++metrics_.forwarded_events;
  }
}

void Peers::flush(Outbox& out) {
  for (auto& [name, events] : forward_queue_) {
    ++metrics_.forward_requests;
    out.forward(name, std::move(events));
  }
  forward_queue_.clear();
}

void Peers::on_subscription_added(SubHandle h, const SubscriptionIndex& index) {
  if (!active()) return;
  // The summary grows with each subscription, O(its keys); a full rebuild
  // (O(all keys)) only when it must grow, so its cost per key is amortised.
  bool fits = true;
  index.for_each_key_of(h, [&](std::string_view k) { fits = current_.add_key(k) && fits; });
  if (!fits) current_ = InterestSummary::of(index);
}

void Peers::on_subscription_removed(uint64_t now) {
  if (active() && !shrink_at_) shrink_at_ = now + config_.interest_shrink_seconds;
}

// Versions only grow, across object lives too: seconds * 2^20 + a counter.
int64_t Peers::next_version(uint64_t now) {
  last_version_ = std::max(last_version_ + 1, static_cast<int64_t>(now) << 20);
  ++metrics_.interest_publications;
  return last_version_;
}

int64_t Peers::publish_if_needed(std::vector<SqlStatement>& stmts, uint64_t now) {
  if (!active()) return 0;
  // O(summary bits), not O(keys): current_ is kept up to date.
  if (!unknown_ && published_.covers(current_)) return 0;
  unknown_ = false;
  const int64_t version = next_version(now);
  stmts.push_back(plan_publish_interest(name_, version, current_.encode(), now));
  // Counted as published once it commits (on_published); until then later
  // REQs publish again, which is harmless.
  in_flight_[version] = current_;
  return version;
}

void Peers::on_published(int64_t version, bool ok) {
  auto it = in_flight_.find(version);
  if (it == in_flight_.end()) return;  // a shrink, or older than one that completed
  if (ok && version > published_version_) {
    published_version_ = version;
    published_ = std::move(it->second);
  }
  in_flight_.erase(in_flight_.begin(), std::next(it));
}

std::optional<std::pair<Peers::Publish, SqlStatement>> Peers::on_timer(
    uint64_t now, const SubscriptionIndex& index) {
  if (!active() || !shrink_at_ || now < *shrink_at_) return std::nullopt;
  shrink_at_.reset();
  current_ = InterestSummary::of(index);  // at most once per interest_shrink_seconds
  if (!unknown_ && current_.covers(published_)) return std::nullopt;  // nothing to take back
  unknown_ = false;
  const int64_t version = next_version(now);
  SqlStatement st = plan_publish_interest(name_, version, current_.encode(), now);
  // Taken as published at once: a REQ from now on that needs more than the
  // smaller summary publishes again, with a newer version, so this one can
  // never take back what that REQ's query relies on.
  published_ = current_;
  published_version_ = version;
  return std::pair{Publish{version, 0}, std::move(st)};
}

void Peers::drop_oldest_answered() {
  const auto& [t, id, sub] = answered_order_.front();
  answered_.erase({id, sub});
  answered_order_.pop_front();
}

void Peers::expire(uint64_t now) {
  while (!answered_order_.empty() && std::get<0>(answered_order_.front()) + kAnsweredWindow < now)
    drop_oldest_answered();
}

}  // namespace nostr::durable
