// Relay: several relay objects (regions x shards, docs/scale.md). Each object
// publishes what its live subscriptions can match (durable/interest.h) in D1
// table relay_objects; a publisher reads the summaries that changed with each
// store batch and forwards the events it stored to the objects that may want
// them, one Forward action per object per batch. Delivery guarantee: a
// subscription whose stored query started after its REQ's summary was
// published gets every later event (published in the same D1 transaction as
// that query); a forward that fails to arrive is lost for live delivery only
// (the event is stored: a REQ finds it).
#include <algorithm>

#include "core/json_writer.h"
#include "core/text.h"
#include "core/write_plan.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using namespace internal;

void Relay::set_object_name(std::string_view name) {
  // One object (regions off, one shard): nothing to publish or forward.
  if (name.empty() || name == object_name_ || !config_.several_objects()) return;
  object_name_.assign(name);
  // An earlier life of this object may have published anything: the first
  // REQ publishes, and so does the first check for a smaller summary.
  interest_unknown_ = true;
  timers_.set(Timer::interest_shrink, 0);
  current_interest_ = InterestSummary::of(index_);  // subscriptions restored before the name
  // The other objects' interests before the first write: ephemeral events
  // are forwarded from what is known (stored ones read it with their batch).
  out_.store(add_pending(PendingPeers{}), batch_json({peer_summaries_statement()}));
}

SqlStatement Relay::peer_summaries_statement() const {
  JsonObjectWriter known;
  for (const auto& [name, p] : peers_) known.uint(name, static_cast<uint64_t>(p.version));
  return plan_peer_summaries(object_name_, known.finish());
}

void Relay::on_peer_summaries(const ResultSet& rs) {
  if (rs.cols != 3) return;
  for (uint32_t i = 0; i < rs.rows; ++i) {
    int64_t version = 0;
    uint64_t v = 0;
    if (!parse_decimal(rs.cell(i, 1), v)) continue;
    version = static_cast<int64_t>(v);
    auto summary = InterestSummary::decode(rs.cell(i, 2));
    if (!summary) continue;  // not ours to fix; forwards to it stay as they were
    Peer& p = peers_[std::string(rs.cell(i, 0))];
    if (version <= p.version) continue;
    p.version = version;
    p.summary = std::move(*summary);
  }
}

void Relay::forward(const Event& e) {
  if (!multi_object() || peers_.empty()) return;
  const std::vector<std::string> keys = InterestSummary::event_keys(e);  // once, not per peer
  for (const auto& [name, p] : peers_) {
    if (!p.summary.may_match(keys)) continue;
    std::string& q = forward_queue_[name];
    q.append(e.raw());
    q.push_back('\n');
    ++metrics_.forwarded_events;
  }
}

void Relay::flush_forwards() {
  for (auto& [name, events] : forward_queue_) {
    ++metrics_.forward_requests;
    out_.forward(name, std::move(events));
  }
  forward_queue_.clear();
}

void Relay::deliver(std::string_view events, uint64_t now) {
  const Entry entry{*this, now};
  expire_answered();
  while (!events.empty()) {
    const size_t nl = events.find('\n');
    const std::string_view line = events.substr(0, nl);
    events = nl == std::string_view::npos ? std::string_view() : events.substr(nl + 1);
    if (line.empty()) continue;
    // Another object of this relay verified and stored it: parsed, not verified again.
    auto e = Event::parse(parser_.json(), line, config_.limits);
    if (!e.ok()) continue;
    const Event& ev = e.value();
    if (recent_.find(ev.id())) continue;  // fanned out here already
    if (ev.kind_class() == KindClass::regular) recent_.insert(ev.id(), ev.sig());
    ++metrics_.delivered_events;
    fan_out(ev, /*forwarded=*/true);
  }
}

int64_t Relay::interest_to_publish(std::vector<SqlStatement>& stmts, uint64_t now) {
  if (!multi_object()) return 0;
  // O(summary bits), not O(keys): current_interest_ is kept up to date.
  if (!interest_unknown_ && published_.covers(current_interest_)) return 0;
  InterestSummary now_summary = current_interest_;
  interest_unknown_ = false;
  // Versions only grow, across object lives too: seconds * 2^20 + a counter.
  last_version_ = std::max(last_version_ + 1, static_cast<int64_t>(now) << 20);
  stmts.push_back(plan_publish_interest(object_name_, last_version_, now_summary.encode(), now));
  ++metrics_.interest_publications;
  // Counted as published once it commits (on_interest_published); until then
  // later REQs publish again, which is harmless.
  pending_summary_[last_version_] = std::move(now_summary);
  return last_version_;
}

void Relay::on_interest_published(int64_t version, bool ok) {
  auto it = pending_summary_.find(version);
  if (it == pending_summary_.end()) return;  // a shrink, or older than one that completed
  if (ok && version > published_version_) {
    published_version_ = version;
    published_ = std::move(it->second);
  }
  pending_summary_.erase(pending_summary_.begin(), std::next(it));
}

void Relay::maybe_shrink_interest(uint64_t now) {
  if (!multi_object() || !timers_.due(Timer::interest_shrink, now)) return;
  timers_.clear(Timer::interest_shrink);
  current_interest_ = InterestSummary::of(index_);  // at most once per interest_shrink_seconds
  InterestSummary smaller = current_interest_;
  if (!interest_unknown_ && smaller.covers(published_)) return;  // nothing to take back
  interest_unknown_ = false;
  last_version_ = std::max(last_version_ + 1, static_cast<int64_t>(now) << 20);
  std::vector<SqlStatement> stmts{
      plan_publish_interest(object_name_, last_version_, smaller.encode(), now)};
  ++metrics_.interest_publications;
  // Taken as published at once: a REQ from now on that needs more than the
  // smaller summary publishes again, with a newer version, so this one can
  // never take back what that REQ's query relies on.
  published_ = std::move(smaller);
  published_version_ = last_version_;
  out_.store(add_pending(PendingPublish{last_version_}), batch_json(stmts));
}

}  // namespace nostr::durable
