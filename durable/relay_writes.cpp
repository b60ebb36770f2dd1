// Relay: the EVENT pipeline. Admit (policy before verify, duplicate check,
// write budgets) -> validate -> apply (policy after verify); group commit into
// store batches; each event's outcome read from its batch; fan-out of what was
// stored; the NIP-40 expiry sweep.
#include <algorithm>
#include <cassert>
#include <variant>

#include "core/json_writer.h"
#include "core/relay_message.h"
#include "core/sql.h"
#include "core/text.h"
#include "core/verify.h"
#include "durable/local_schema.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

void Relay::on_event(ConnId conn, Event&& e, uint64_t now) {
  if (!admit_event(conn, e)) return;
  const EventId id = e.id();
  auto verified = validate_event(std::move(e));
  if (!verified) return refuse_unverified(conn, id, verified.error(), now);
  apply_event(conn, std::move(verified).value(), now, /*charged_unverified=*/true);
}

void Relay::refuse_unverified(ConnId conn, const EventId& id, const Reject& why, uint64_t now) {
  send_ok(conn, id, false, why);
  // A forged event costs a full verification: it counts toward the refusals
  // that close a connection, so one socket cannot keep the relay verifying.
  if (auto* c = conns_.find(conn); c) count_refusal(conn, *c, now, /*rate=*/false);
}

void Relay::apply_verified(uint32_t conn, VerifiedEvent&& v, uint64_t now) {
  const Entry entry{*this, now};
  auto* c = conns_.find(conn);
  if (!c) return;
  maybe_check_management(now);
  ++metrics_.messages_in["EVENT"];  // as frame() counts it
  if (!rate_event(conn, *c, v.event(), &v.event().pubkey(), now) || !admit_event(conn, v.event()))
    return;
  apply_event(conn, std::move(v), now, /*charged_unverified=*/false);
}

void Relay::refuse_invalid(uint32_t conn, const Event& e, const Reject& why, uint64_t now) {
  const Entry entry{*this, now};
  auto* c = conns_.find(conn);
  if (!c) return;
  maybe_check_management(now);
  ++metrics_.messages_in["EVENT"];
  if (!rate_event(conn, *c, e, nullptr, now)) return;
  // The answer frame() would give: policy before verification comes first.
  if (auto refused = policy_.event_before_verify(view(*c), e)) {
    send_ok(conn, e.id(), false, *refused);
    return;
  }
  refuse_unverified(conn, e.id(), why, now);
}

bool Relay::write_budget_full(uint32_t conn) const {
  auto* c = conns_.find(conn);
  if (!c) return false;
  const Limits& l = config_.limits;
  // Room for one more event of the largest size, per connection and relay-wide.
  const size_t next = l.max_event_size + WriteQueue::kPendingOverhead;
  return c->pending_events >= l.max_pending_events ||
         c->pending_event_bytes + next > l.max_pending_event_bytes || !writes_.room_for(next);
}

bool Relay::admit_event(ConnId conn, const Event& e) {
  Connection& c = conns_.at(conn);
  if (auto refused = policy_.event_before_verify(view(c), e)) {
    send_ok(conn, e.id(), false, *refused);
    return false;
  }
  // Cheap duplicate check before the expensive signature verification; sound:
  // the event must hash to its id and carry the stored (or a valid) signature.
  if (const Signature* stored = recent_.find(e.id())) {
    if (e.computed_id() != e.id()) {
      send_ok(conn, e.id(), false,
              reject(Code::id_mismatch, "id is not the sha256 of the serialized event"));
      return false;
    }
    if (*stored != e.sig() && !schnorr_verify(e.sig(), e.id().data(), e.pubkey())) {
      send_ok(conn, e.id(), false, reject(Code::bad_signature, "signature verification failed"));
      return false;
    }
    send_ok(conn, e.id(), true, reject(Code::duplicate, "already have this event"));
    return false;
  }
  const bool stored_kind = e.kind_class() != KindClass::ephemeral;
  // Write budgets before the ~100 µs verification: a flood costs little.
  if (stored_kind && c.pending_events >= config_.limits.max_pending_events) {
    send_ok(conn, e.id(), false,
            reject(Code::rate_limited,
                   std::to_string(c.pending_events) +
                       " events of this connection are waiting to be stored; wait for their OK "
                       "before sending more"));
    return false;
  }
  const size_t cost = WriteQueue::cost_of(e);
  if (stored_kind && c.pending_event_bytes + cost > config_.limits.max_pending_event_bytes) {
    send_ok(conn, e.id(), false,
            reject(Code::rate_limited,
                   "this connection's events waiting to be stored take too much room; wait for "
                   "their OK"));
    return false;
  }
  if (stored_kind && !writes_.room_for(cost)) {
    send_ok(conn, e.id(), false,
            reject(Code::rate_limited, "the relay is busy storing events, try again shortly"));
    return false;
  }
  return true;
}

void Relay::apply_event(ConnId conn, VerifiedEvent&& v, uint64_t now, bool charged_unverified) {
  const Event& e = v.event();
  Connection& c = conns_.at(conn);
  if (charged_unverified) refund_exempt_author(conn, c, e, now);
  if (auto refused = policy_.event_after_verify(view(c), e, now)) {
    send_ok(conn, e.id(), false, *refused);
    return;
  }
  if (!rate_event_author(conn, c, e, now)) return;
  if (e.kind_class() == KindClass::ephemeral) {
    recent_.insert(e.id(), e.sig());  // a repeat is a duplicate, not a second broadcast
    send_ok(conn, e.id(), true);
    fan_out(e);
    // Other objects' interests as of their last read (no store batch here).
    peers_.forward(e);
    peers_.flush(out_);
    return;
  }
  queue_store(conn, std::move(v));
}

void Relay::queue_store(ConnId conn, VerifiedEvent&& v) {
  Connection& c = conns_.at(conn);
  const size_t bytes = WriteQueue::cost_of(v.event());
  ++c.pending_events;
  c.pending_event_bytes += bytes;
  // NIP-62: honoured whatever its author's status, but a request the write
  // rules refuse (banned author or event, blocked phrase, ...) must not become
  // content anyone can read: keep only the deletion it asks for.
  const bool hidden = v->kind() == kVanishKind && policy_.write_rules(v.event()).has_value();
  StorePlan plan = hidden ? plan_vanish_only(v.event()) : plan_store(v.event());
  writes_.push(PendingStore{conn, std::make_unique<VerifiedEvent>(std::move(v)), std::move(plan),
                            hidden, bytes});
  flush_writes();
}

void Relay::flush_writes() {
  // Bans and allow lists must be known before anything is stored.
  if (writes_.in_flight() || writes_.waiting().empty() || !management_.loaded()) return;
  // The write policy again: management may have changed since admission.
  auto& waiting = writes_.waiting();
  for (auto it = waiting.begin(); it != waiting.end();) {
    const Event& e = it->event->event();
    if (e.kind() == kVanishKind) {  // honoured either way (queue_store)
      if (!it->hidden && policy_.write_rules(e)) {
        it->hidden = true;
        it->plan = plan_vanish_only(e);
      }
      ++it;
      continue;
    }
    if (auto refused = policy_.write_rules(e)) {
      PendingStore p = std::move(*it);
      it = waiting.erase(it);
      release_pending(p);
      send_ok(p.conn, p.event->event().id(), false, *refused);
    } else {
      ++it;
    }
  }
  // The other objects' summaries are read in the batch too.
  std::optional<WriteBatch> next = writes_.take_batch(peers_.active() ? 1 : 0);
  if (!next) return;
  WriteBatch& batch = *next;
  if (peers_.active()) {
    // Read in the same transaction as the insert: an object that published
    // its interest before this commit is seen here (Peers::publish_if_needed).
    batch.plan.stmts.push_back(peers_.summaries_statement());
    batch.reads_peers = true;
  }
  std::vector<SqlStatement> stmts = std::move(batch.plan.stmts);
  batch.plan.stmts.clear();  // sent; keep only the indexes
  const uint32_t token = add_pending(std::move(batch));
  out_.store(token, std::move(stmts));
  writes_.sent(token);
}

void Relay::on_write_done(WriteBatch batch, const BatchResult& r) {
  {
    const std::vector<SubHandle> answered = writes_.done();
    const std::vector<ResultSet>& rs = r.sets;
    const bool parsed = r.ok;
    if (parsed && batch.reads_peers && !rs.empty()) peers_.on_summaries(rs.back());
    const auto outcomes = batch.plan.outcomes(parsed ? &rs : nullptr);
    bool vanish = maintenance_.vanish_owed();
    for (size_t i = 0; i < batch.events.size(); ++i) {
      on_store_done(batch.events[i], outcomes[i]);
      vanish |= outcomes[i] == StoreOutcome::stored &&
                batch.events[i].event->event().kind() == kVanishKind;
    }
    if (vanish) maintenance_.vanish(MaintenanceSink(*this).self());
    peers_.flush(out_);
    // Answers that raced this batch have seen its fan-out: forget their ids.
    for (const SubHandle h : answered) {
      if (Subscription* sub = subs_.find(h)) sub->answered = {};
    }
    flush_writes();
  }
}

void Relay::release_pending(const PendingStore& p) {
  writes_.release(p.cost);
  if (auto* c = conns_.find(p.conn); c && c->pending_events > 0) {
    --c->pending_events;
    c->pending_event_bytes -= std::min(c->pending_event_bytes, p.cost);
  }
}

void Relay::on_store_done(const PendingStore& p, std::optional<StoreOutcome> outcome) {
  const Event& e = p.event->event();
  release_pending(p);
  if (!outcome) {
    send_ok(p.conn, e.id(), false,
            reject(Code::storage_error, "could not store the event, please try again"));
    return;
  }
  if (p.hidden && *outcome == StoreOutcome::stored) {
    // Only the deletion was kept: nothing to remember, serve or forward.
    send_ok(p.conn, e.id(), true);
    return;
  }
  switch (*outcome) {
    case StoreOutcome::stored:
      remember(e);
      send_ok(p.conn, e.id(), true);
      fan_out(e);
      peers_.forward(e);
      break;
    case StoreOutcome::duplicate:
      remember(e);
      send_ok(p.conn, e.id(), true, reject(Code::duplicate, "already have this event"));
      break;
    case StoreOutcome::superseded:
      send_ok(
          p.conn, e.id(), false,
          reject(Code::duplicate, "a newer version of this replaceable event is already stored"));
      break;
    case StoreOutcome::deleted:
      send_ok(p.conn, e.id(), false,
              reject(Code::blocked, "this event was deleted by its author (NIP-09)"));
      break;
    case StoreOutcome::vanished:
      send_ok(p.conn, e.id(), false,
              reject(Code::blocked,
                     "its author asked this relay to delete everything up to this time (NIP-62)"));
      break;
  }
}

void Relay::remember(const Event& e) {
  // Only ids that stay stored may answer "duplicate" from memory: replaceable
  // versions can be superseded, so they always go to D1.
  if (e.kind_class() == KindClass::regular) recent_.insert(e.id(), e.sig());
  if (e.kind() == kDeletionKind) {  // NIP-09: its targets are no longer stored
    for (size_t i = 0; i < e.tag_count(); ++i) {
      const TagView t = e.tag(i);
      if (t.size() >= 2 && t[0] == "e") {
        if (auto id = EventId::from_hex(t[1])) recent_.erase(*id);
      }
    }
  }
}

void Relay::fan_out(const Event& e, bool forwarded) {
  std::vector<SubHandle> hits;
  index_.match(e, hits, config_.is_search_kind(e.kind()));
  if (hits.empty()) return;
  std::vector<Fanout::Target> targets;
  targets.reserve(hits.size());
  for (const SubHandle h : hits) {
    Subscription* found = subs_.find(h);
    if (!found) continue;
    Subscription& s = *found;
    // An API call answers what was stored when it ran: no live events.
    const Connection* c = conns_.find(s.conn);
    if (!c || c->api || !policy_.may_deliver(view(*c), e)) continue;
    if (forwarded && peers_.answered(e.id(), h)) continue;  // its stored answer had it
    if (!s.answered.empty() && std::binary_search(s.answered.begin(), s.answered.end(), e.id())) {
      continue;  // sent with the stored answer while this event's write was in flight
    }
    if (!s.live &&
        e.kind_class() != KindClass::ephemeral) {  // ephemeral events are never in an answer
      if (s.stage == QueryStage::ids_waiting) {
        continue;  // already stored: the ids query, not started yet, will find it
      } else if (s.stage == QueryStage::page_waiting || s.stage == QueryStage::page_in_flight) {
        // The stored answer is known: an event in it comes (or came) with its page.
        const StoredRow key{e.created_at(), e.id(), 0};
        // Ranked (NIP-50) answers are in relevance order: look through them.
        const bool listed = ranked(s)
                                ? std::any_of(s.rows.begin(), s.rows.end(),
                                              [&](const StoredRow& r) { return r.id == e.id(); })
                                : std::binary_search(s.rows.begin(), s.rows.end(), key,
                                                     [](const StoredRow& a, const StoredRow& b) {
                                                       return a.created_at != b.created_at
                                                                  ? a.created_at > b.created_at
                                                                  : a.id < b.id;
                                                     });
        if (listed) continue;
      } else if (s.sent_before_eose.size() < kMaxSentBeforeEose) {
        s.sent_before_eose.push_back(e.id());
      }
    }
    if (c->local) {  // an in-process client: its sink, through reply()
      reply(s.conn, EventReply{&s.id, e.raw()});
      continue;
    }
    targets.push_back(Fanout::Target{Outbox::socket(s.conn), event_message_prefix(s.id)});
  }
  if (!targets.empty()) out_.fanout(e.raw(), std::move(targets));
}

}  // namespace nostr::durable
