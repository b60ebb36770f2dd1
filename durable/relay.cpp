#include "durable/relay.h"

#include <algorithm>
#include <cassert>
#include <variant>

#include "core/json_writer.h"
#include "core/relay_message.h"
#include "core/sql.h"
#include "core/text.h"
#include "core/verify.h"
#include "durable/local_schema.h"

namespace nostr::durable {
namespace {

// Statements per D1 write batch. D1 counts each statement as a query and the
// free plan allows 50 per invocation; a batch never exceeds that.
constexpr size_t kMaxBatchStatements = 50;
// Events per write batch: bounds the JSON parameters (~1 KB per event) and the
// latency a large batch adds to its first event.
constexpr size_t kMaxBatchEvents = 64;
// NIP-42 challenges from the host are >= 16 random chars; keep at most this.
constexpr size_t kMaxChallenge = ConnState::kMaxChallenge;
// A connection may always hold this many filter bytes, whatever the relay-wide
// total: a client's first small REQ is never refused because others are greedy.
constexpr size_t kFilterReserve = 1024;
// Bytes charged per subscription on top of its filters (entry, id, maps).
constexpr size_t kSubscriptionCost = 256;
// Bytes an ids-query row may occupy while it is decoded and sorted (the results
// buffer, its cell table, the sort) and then while it is paged (StoredRow).
constexpr size_t kIdRowBytes = 200;
// Per fetched row beyond its raw JSON: the id and framing in the results buffer.
constexpr size_t kPageRowOverhead = 96;
// Live events recorded while a REQ's ids query is in flight (to skip them in
// its pages), charged to its reservation; beyond this they are still
// delivered, at worst twice.
constexpr size_t kMaxSentBeforeEose = 128;
// NIP-40: expired events are never served (every read plan excludes them);
// the sweep deletes them from the store, at most kSweepBatch per batch, once
// per kSweepInterval (at once again while a batch comes back full).
constexpr uint64_t kSweepInterval = 3600;
constexpr uint32_t kSweepBatch = 500;
constexpr std::string_view kSweepTimer = "expiry_sweep";

std::string subs_filters_json(const std::vector<CompiledFilter>& filters) {
  std::string out = "[";
  for (size_t i = 0; i < filters.size(); ++i) {
    if (i) out += ',';
    out += filters[i].to_json();
  }
  return out + "]";
}

std::string stmt_json(SqlStatement st) {
  std::string out;
  append_statement_json(out, st);
  return out;
}

}  // namespace

void RecentIds::insert(const EventId& id, const Signature& sig) {
  if (!map_.emplace(id, sig).second) return;
  order_.push_back(id);
  if (order_.size() > capacity_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
}

Relay::Usage Relay::usage() const {
  return Usage{conns_.size(),         subs_.size(),       filter_bytes_,  pending_event_bytes_,
               query_list_bytes_,     query_page_bytes_,  pending_counts_};
}

std::string Relay::stats_json(uint64_t memory_bytes) const {
  size_t pending_events = 0, waiting = 0;
  for (const auto& [id, c] : conns_) {
    pending_events += c.pending_events;
    waiting += c.page_steps.size() + c.ids_steps.size();
  }
  std::string s = "{";
  auto field = [&s](const char* name, uint64_t v) {
    if (s.size() > 1) s += ',';
    s += '"';
    s += name;
    s += "\":";
    append_uint(s, v);
  };
  field("connections", conns_.size());
  field("subscriptions", subs_.size());
  field("filter_bytes", filter_bytes_);
  field("pending_events", pending_events);
  field("pending_event_bytes", pending_event_bytes_);
  field("query_list_bytes", query_list_bytes_);
  field("query_page_bytes", query_page_bytes_);
  field("queries_active", queries_in_flight_);
  field("queries_waiting", waiting);
  field("pending_counts", pending_counts_);
  field("recent_ids", recent_.size());
  field("memory_bytes", memory_bytes);
  s += '}';
  return s;
}

Relay::Relay(RelayConfig config) : config_(std::move(config)), parser_(config_.limits) { crypto_selftest(); }

bool Relay::open(uint32_t conn, std::string_view challenge, std::string_view state, uint64_t now,
                 const ConnMeta& meta) {
  if (conns_.count(conn)) return false;
  if (state.empty()) {
    if (auto refused = policy_.admit(meta, conns_.size())) {
      const std::string why = refused->wire_message();
      out_.send(conn, notice_message(why));
      // 1013: try again later; 1008: policy violation.
      out_.close(conn, refused->code == Code::rate_limited ? 1013 : 1008, why);
      return true;
    }
  }
  Connection& c = conns_[conn];
  c.output_tokens = 2 * uint64_t{config_.limits.max_query_output_rate};  // a full burst to start
  c.tokens_at = now;
  c.meta = meta;
  if (state.empty()) {
    c.challenge.assign(challenge.substr(0, kMaxChallenge));
    out_.send(conn, auth_message(c.challenge));
    if (const uint64_t due = policy_.auth_deadline(now)) {
      c.auth_deadline = due;
      auth_deadlines_.emplace(due, conn);
    }
    attach_state(conn, c);
    return true;
  }
  // Our own ConnState (see attach_state). Should it lack a challenge, the
  // host's fresh one keeps NIP-42 possible.
  ConnState st = ConnState::from_json(state, config_.limits.max_logins);
  c.challenge.assign(st.challenge.empty() ? challenge.substr(0, kMaxChallenge) : std::string_view(st.challenge));
  c.authed = std::move(st.authed);
  c.meta = std::move(st.meta);
  c.subs_in_sql = st.subs_in_local_sql;
  for (const auto& [id, filters_json] : st.subs) {
    simdjson::dom::array arr;
    if (parser_.json().parse(filters_json).get_array().get(arr) != simdjson::SUCCESS) continue;
    auto sub = SubId::make(id, config_.limits.max_subid_length);
    std::vector<CompiledFilter> filters;
    for (simdjson::dom::element f : arr) {
      if (auto cf = CompiledFilter::compile(f, config_.limits)) filters.push_back(std::move(cf).value());
    }
    if (!sub || filters.empty() || c.subs.count(sub->str())) continue;
    add_subscription(conn, c, std::move(*sub), std::move(filters), /*live=*/true);
  }
  // Hibernation does not stop the clock of an unauthenticated connection, but
  // its start is not kept: it restarts at the wake.
  if (c.authed.empty()) {
    if (const uint64_t due = policy_.auth_deadline(now)) {
      c.auth_deadline = due;
      auth_deadlines_.emplace(due, conn);
    }
  }
  return true;
}

// The connection's ConnState, kept with its socket. Subscriptions go in it
// while it fits ConnState::kMaxBytes; past that they move to local SQL for good.
void Relay::attach_state(uint32_t conn, Connection& c) {
  ConnState st;
  st.meta = c.meta;
  st.challenge = c.challenge;
  st.authed = c.authed;
  st.subs_in_local_sql = c.subs_in_sql;
  if (!c.subs_in_sql) {
    for (const auto& [id, h] : c.subs) st.subs.emplace_back(id, subs_filters_json(subs_.at(h)->filters));
  }
  std::string json = st.to_json();
  if (!c.subs_in_sql && json.size() + 1 > ConnState::kMaxBytes) {
    // Too big for the socket: move this connection's subscriptions to local SQL.
    c.subs_in_sql = true;
    for (const auto& [id, h] : c.subs) persist_subscription(*subs_.at(h));
    st.subs.clear();
    st.subs_in_local_sql = true;
    json = st.to_json();
  }
  out_.save_conn_state(conn, std::move(json));
}

void Relay::save_subscriptions(uint32_t conn, Connection& c, const Subscription* changed, const std::string& closed) {
  if (!c.subs_in_sql) {
    attach_state(conn, c);  // may move everything to SQL
    return;
  }
  if (changed) persist_subscription(*changed);
  if (!closed.empty()) {
    out_.local_sql(0, stmt_json({"DELETE FROM subs WHERE conn = ? AND sub = ?",
                           {SqlParam::of(static_cast<int64_t>(conn)), SqlParam::of(closed)}}));
  }
}

void Relay::restore(uint64_t /*now*/) {
  out_.local_sql(0, stmt_json({"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", {}}));
  out_.local_sql(add_pending(PendingSchema{}), stmt_json({"SELECT MAX(version) FROM schema_version", {}}));
}

// Brings local SQL to the current schema, then reads what it keeps.
void Relay::on_schema_version(std::string_view results) {
  std::vector<ResultSet> rs;
  uint64_t version = 0;
  if (parse_results(results, rs) && rs.size() == 1 && rs[0].rows == 1 && rs[0].cols == 1 && !rs[0].is_null(0, 0)) {
    if (!parse_decimal(rs[0].cell(0, 0), version)) version = 0;
  }
  const size_t latest = std::size(kLocalMigrations);
  if (version < latest) {
    for (size_t v = version; v < latest; ++v) out_.local_sql(0, stmt_json({std::string(kLocalMigrations[v]), {}}));
    out_.local_sql(0, stmt_json({"DELETE FROM schema_version", {}}));
    out_.local_sql(0, stmt_json({"INSERT INTO schema_version (version) VALUES (?)", {SqlParam::of(static_cast<int64_t>(latest))}}));
  }
  out_.local_sql(add_pending(PendingRestore{}), stmt_json({"SELECT conn, sub, filters FROM subs", {}}));
  out_.local_sql(add_pending(PendingTimers{}),
                 stmt_json({"SELECT at FROM timers WHERE name = ?", {SqlParam::of(std::string(kSweepTimer))}}));
}

void Relay::local_sql_done(uint32_t token, std::string_view results, uint64_t now) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;
  PendingOp op = std::move(it->second);
  pending_.erase(it);
  if (std::holds_alternative<PendingSchema>(op)) {
    on_schema_version(results);
  } else if (std::holds_alternative<PendingRestore>(op)) {
    on_restore_rows(results);
  } else if (std::holds_alternative<PendingTimers>(op)) {
    on_timer_rows(results, now);
  }
}

// The persisted sweep time, or (first start) one interval from now, persisted.
void Relay::on_timer_rows(std::string_view results, uint64_t now) {
  std::vector<ResultSet> rs;
  uint64_t at = 0;
  if (parse_results(results, rs) && rs.size() == 1 && rs[0].rows == 1 && rs[0].cols == 1 &&
      parse_decimal(rs[0].cell(0, 0), at) && at != 0) {
    sweep_at_ = at;
    return;
  }
  sweep_at_ = now + kSweepInterval;
  out_.local_sql(0, stmt_json({"INSERT OR REPLACE INTO timers (name, at) VALUES (?, ?)",
                               {SqlParam::of(std::string(kSweepTimer)), SqlParam::of(static_cast<int64_t>(sweep_at_))}}));
}

void Relay::on_restore_rows(std::string_view results) {
  std::vector<ResultSet> rs;
  if (!parse_results(results, rs) || rs.size() != 1 || rs[0].cols != 3) return;
  std::vector<uint64_t> dead;
  for (uint32_t r = 0; r < rs[0].rows; ++r) {
    uint64_t conn = 0;
    if (!parse_decimal(rs[0].cell(r, 0), conn)) continue;
    auto c = conns_.find(static_cast<uint32_t>(conn));
    auto sub = SubId::make(rs[0].cell(r, 1), config_.limits.max_subid_length);
    if (c == conns_.end() || !c->second.subs_in_sql) {
      dead.push_back(conn);  // a closed socket's, or stale
      continue;
    }
    if (!sub) {  // unreadable now (e.g. max_subid_length lowered): drop only that row
      out_.local_sql(0, stmt_json({"DELETE FROM subs WHERE conn = ? AND sub = ?",
                             {SqlParam::of(static_cast<int64_t>(conn)), SqlParam::of(std::string(rs[0].cell(r, 1)))}}));
      continue;
    }
    const std::string_view text = rs[0].cell(r, 2);
    simdjson::dom::element root;
    simdjson::dom::array arr;
    if (parser_.json().parse(text.data(), text.size(), true).get(root) != simdjson::SUCCESS ||
        root.get_array().get(arr) != simdjson::SUCCESS) {
      continue;
    }
    std::vector<CompiledFilter> filters;
    for (simdjson::dom::element f : arr) {
      auto cf = CompiledFilter::compile(f, config_.limits);
      if (cf) filters.push_back(std::move(cf).value());
    }
    if (filters.empty()) continue;
    if (c->second.subs.count(sub->str())) continue;  // already live (should not happen)
    add_subscription(c->first, c->second, std::move(*sub), std::move(filters), /*live=*/true);
  }
  std::sort(dead.begin(), dead.end());
  dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
  for (const uint64_t conn : dead) {
    out_.local_sql(0, stmt_json({"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}}));
  }
}

void Relay::frame(uint32_t conn, std::string_view bytes, bool padded, uint64_t now) {
  if (!conns_.count(conn)) return;  // host bug: frames for an unknown socket
  // A REQ bigger than a connection may ever hold is refused before compiling.
  ParsedFrame r = parser_.parse(bytes, padded, config_.limits.max_filter_bytes);
  if (!r.ok()) {
    const MessageError& err = r.error;
    const std::string text = err.reject.wire_message();
    switch (err.reply) {
      case ReplyKind::ok: out_.send(conn, ok_message(err.event_id, false, text)); break;
      case ReplyKind::closed:
        if (err.ends_subscription) {
          refuse_req(conn, err.sub_id, text);
        } else {
          out_.send(conn, closed_message(err.sub_id, text));
        }
        break;
      case ReplyKind::notice: out_.send(conn, notice_message(text)); break;
    }
    return;
  }
  ClientMessage& m = *r.message;
  if (auto* ev = std::get_if<EventMessage>(&m)) {
    on_event(conn, std::move(ev->event), now);
  } else if (auto* req = std::get_if<ReqMessage>(&m)) {
    on_req(conn, std::move(*req), now);
  } else if (auto* count = std::get_if<CountMessage>(&m)) {
    on_count(conn, std::move(*count), now);
  } else if (auto* cl = std::get_if<CloseMessage>(&m)) {
    on_close(conn, *cl);
  } else if (auto* auth = std::get_if<AuthMessage>(&m)) {
    on_auth(conn, auth->event, now);
  } else if (auto* neg = std::get_if<NegMessage>(&m)) {
    const std::string reason = "error: negentropy (NIP-77) is not supported by this relay";
    if (neg->sub) {
      out_.send(conn, neg_err_message(neg->sub->str(), reason));
    } else {
      out_.send(conn, notice_message(reason));
    }
  }
}

void Relay::oversized_frame(uint32_t conn, uint64_t size) {
  if (!conns_.count(conn)) return;
  const Reject r = reject(Code::message_too_large, "message is at least " + std::to_string(size) +
                                                      " bytes, limit is " +
                                                      std::to_string(config_.limits.max_message_length));
  out_.send(conn, notice_message(r.wire_message()));
}

void Relay::send_ok(uint32_t conn, const EventId& id, bool accepted, std::string_view message) {
  if (conns_.count(conn)) out_.send(conn, ok_message(id.hex(), accepted, message));
}

void Relay::on_event(uint32_t conn, Event&& e, uint64_t now) {
  if (!admit_event(conn, e)) return;
  const EventId id = e.id();
  auto verified = validate_event(std::move(e));
  if (!verified) {
    send_ok(conn, id, false, verified.error().wire_message());
    return;
  }
  apply_event(conn, std::move(verified).value(), now);
}

void Relay::apply_verified(uint32_t conn, VerifiedEvent&& v, uint64_t now) {
  if (!conns_.count(conn) || !admit_event(conn, v.event())) return;
  apply_event(conn, std::move(v), now);
}

bool Relay::admit_event(uint32_t conn, const Event& e) {
  Connection& c = conns_[conn];
  if (auto refused = policy_.event_before_verify(view(c), e)) {
    send_ok(conn, e.id(), false, refused->wire_message());
    return false;
  }
  // Cheap duplicate check before the expensive signature verification; sound:
  // the event must hash to its id and carry the stored (or a valid) signature.
  if (const Signature* stored = recent_.find(e.id())) {
    if (e.computed_id() != e.id()) {
      send_ok(conn, e.id(), false, reject(Code::id_mismatch, "id is not the sha256 of the serialized event").wire_message());
      return false;
    }
    if (*stored != e.sig() && !schnorr_verify(e.sig(), e.id().data(), e.pubkey())) {
      send_ok(conn, e.id(), false, reject(Code::bad_signature, "signature verification failed").wire_message());
      return false;
    }
    send_ok(conn, e.id(), true, "duplicate: already have this event");
    return false;
  }
  const bool stored_kind = e.kind_class() != KindClass::ephemeral;
  // Write budgets before the ~100 µs verification: a flood costs little.
  if (stored_kind && c.pending_events >= config_.limits.max_pending_events) {
    send_ok(conn, e.id(), false,
            "rate-limited: " + std::to_string(c.pending_events) +
                " events of this connection are waiting to be stored; wait for their OK before sending more");
    return false;
  }
  if (stored_kind && c.pending_event_bytes + e.raw().size() > config_.limits.max_pending_event_bytes) {
    send_ok(conn, e.id(), false,
            "rate-limited: this connection's events waiting to be stored take too much room; wait for their OK");
    return false;
  }
  if (stored_kind && pending_event_bytes_ + e.raw().size() > config_.limits.max_pending_event_bytes_total) {
    send_ok(conn, e.id(), false, "rate-limited: the relay is busy storing events, try again shortly");
    return false;
  }
  return true;
}

void Relay::apply_event(uint32_t conn, VerifiedEvent&& v, uint64_t now) {
  const Event& e = v.event();
  if (auto refused = policy_.event_after_verify(view(conns_[conn]), e, now)) {
    send_ok(conn, e.id(), false, refused->wire_message());
    return;
  }
  if (e.kind_class() == KindClass::ephemeral) {
    recent_.insert(e.id(), e.sig());  // a repeat is a duplicate, not a second broadcast
    send_ok(conn, e.id(), true, "");
    fan_out(e);
    return;
  }
  queue_store(conn, std::move(v));
}

void Relay::queue_store(uint32_t conn, VerifiedEvent&& v) {
  Connection& c = conns_[conn];
  const size_t bytes = v->raw().size();
  ++c.pending_events;
  c.pending_event_bytes += bytes;
  pending_event_bytes_ += bytes;
  StorePlan plan = plan_store(v.event());
  write_queue_.push_back(PendingStore{conn, std::make_unique<VerifiedEvent>(std::move(v)), std::move(plan)});
  if (!write_in_flight_) flush_writes();
}

void Relay::flush_writes() {
  if (write_queue_.empty()) return;
  WriteBatch batch;
  std::vector<StorePlan> plans;
  size_t statements = 2;  // the batch's tag insert and status query
  while (!write_queue_.empty() && plans.size() < kMaxBatchEvents) {
    PendingStore& w = write_queue_.front();
    const size_t cost = batch_statements(w.plan, plans.empty() ? nullptr : &plans.back());
    if (!plans.empty() && statements + cost > kMaxBatchStatements) break;
    statements += cost;
    plans.push_back(std::move(w.plan));
    batch.events.push_back(std::move(w));
    write_queue_.pop_front();
  }
  batch.plan = plan_store_batch(std::move(plans));
  std::string json = batch_json(batch.plan.stmts);
  batch.plan.stmts.clear();  // sent; keep only the indexes
  const uint32_t token = add_pending(std::move(batch));
  out_.store(token, std::move(json));
  write_in_flight_ = true;
  write_token_ = token;
}

void Relay::on_store_done(const PendingStore& p, std::optional<StoreOutcome> outcome) {
  const Event& e = p.event->event();
  pending_event_bytes_ -= e.raw().size();
  if (auto c = conns_.find(p.conn); c != conns_.end() && c->second.pending_events > 0) {
    --c->second.pending_events;
    c->second.pending_event_bytes -= std::min(c->second.pending_event_bytes, e.raw().size());
  }
  if (!outcome) {
    send_ok(p.conn, e.id(), false, "error: could not store the event, please try again");
    return;
  }
  switch (*outcome) {
    case StoreOutcome::stored:
      remember(e);
      send_ok(p.conn, e.id(), true, "");
      fan_out(e);
      break;
    case StoreOutcome::duplicate:
      remember(e);
      send_ok(p.conn, e.id(), true, "duplicate: already have this event");
      break;
    case StoreOutcome::superseded:
      send_ok(p.conn, e.id(), false, "duplicate: a newer version of this replaceable event is already stored");
      break;
    case StoreOutcome::deleted:
      send_ok(p.conn, e.id(), false, "blocked: this event was deleted by its author (NIP-09)");
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

void Relay::fan_out(const Event& e) {
  std::vector<SubHandle> hits;
  index_.match(e, hits);
  if (hits.empty()) return;
  std::vector<Fanout::Target> targets;
  targets.reserve(hits.size());
  for (const SubHandle h : hits) {
    auto it = subs_.find(h);
    if (it == subs_.end()) continue;
    Subscription& s = *it->second;
    if (auto c = conns_.find(s.conn); c == conns_.end() || !policy_.may_deliver(view(c->second), e)) continue;
    if (!s.answered.empty() && std::binary_search(s.answered.begin(), s.answered.end(), e.id())) {
      continue;  // sent with the stored answer while this event's write was in flight
    }
    if (!s.live && e.kind_class() != KindClass::ephemeral) {  // ephemeral events are never in an answer
      if (s.stage == QueryStage::ids_waiting) {
        continue;  // already stored: the ids query, not started yet, will find it
      } else if (s.stage == QueryStage::page_waiting || s.stage == QueryStage::page_in_flight) {
        // The stored answer is known: an event in it comes (or came) with its page.
        const StoredRow key{e.created_at(), e.id(), 0};
        const bool listed = std::binary_search(s.rows.begin(), s.rows.end(), key, [](const StoredRow& a, const StoredRow& b) {
          return a.created_at != b.created_at ? a.created_at > b.created_at : a.id < b.id;
        });
        if (listed) continue;
      } else if (s.sent_before_eose.size() < kMaxSentBeforeEose) {
        s.sent_before_eose.push_back(e.id());
      }
    }
    targets.push_back(Fanout::Target{s.conn, event_message_prefix(s.id)});
  }
  if (!targets.empty()) out_.fanout(e.raw(), std::move(targets));
}

SubHandle Relay::add_subscription(uint32_t conn, Connection& c, SubId id, std::vector<CompiledFilter> filters,
                                  bool live) {
  const SubHandle h = next_handle_++;
  auto sub = std::make_unique<Subscription>(conn, std::move(id), std::move(filters));
  sub->live = live;
  sub->cost = kSubscriptionCost + sub->id.str().size();
  for (const auto& f : sub->filters) sub->cost += f.cost();
  c.filter_bytes += sub->cost;
  filter_bytes_ += sub->cost;
  index_.add(h, sub->filters);
  c.subs[sub->id.str()] = h;
  subs_.emplace(h, std::move(sub));
  return h;
}

void Relay::remove_subscription(SubHandle h) {
  auto it = subs_.find(h);
  if (it == subs_.end()) return;
  Subscription& s = *it->second;
  index_.remove(h);
  filter_bytes_ -= s.cost;
  query_list_bytes_ -= s.list_bytes;  // in-flight reads release theirs on completion
  query_page_bytes_ -= s.prefetch_bytes;
  auto c = conns_.find(s.conn);
  if (c != conns_.end()) {
    c->second.filter_bytes -= s.cost;
    c->second.subs.erase(s.id.str());
    for (auto* steps : {&c->second.page_steps, &c->second.ids_steps}) {
      steps->erase(std::remove(steps->begin(), steps->end(), h), steps->end());
    }
  }
  subs_.erase(it);
}

void Relay::refuse_req(uint32_t conn, std::string sub, std::string_view reason) {
  out_.send(conn, closed_message(sub, reason));
  auto c = conns_.find(conn);
  if (c == conns_.end()) return;
  auto it = c->second.subs.find(sub);
  if (it == c->second.subs.end()) return;
  remove_subscription(it->second);
  save_subscriptions(conn, c->second, nullptr, sub);
}

void Relay::persist_subscription(const Subscription& s) {
  out_.local_sql(0, stmt_json({"INSERT OR REPLACE INTO subs (conn, sub, filters) VALUES (?, ?, ?)",
                         {SqlParam::of(static_cast<int64_t>(s.conn)), SqlParam::of(s.id.str()),
                          SqlParam::of(subs_filters_json(s.filters))}}));
}

void Relay::on_req(uint32_t conn, ReqMessage&& m, uint64_t now) {
  Connection& c = conns_[conn];
  const std::string sub = m.sub.str();
  const Limits& lim = config_.limits;
  if (auto refused = policy_.filters(view(c), m.filters)) return refuse_req(conn, sub, refused->wire_message());
  bool stored = false;
  for (const auto& f : m.filters) {
    if (f.matches_nothing() || f.effective_limit(lim) == 0) continue;
    // Planned now so a filter D1 would refuse is refused here, deterministically.
    if (auto st = plan_query(f, lim, now); !st) return refuse_req(conn, sub, st.error().wire_message());
    stored = true;
  }
  // Budgets, counting what a replaced subscription of the same id gives back.
  size_t cost = kSubscriptionCost + sub.size();
  for (const auto& f : m.filters) cost += f.cost();
  const auto existing = c.subs.find(sub);
  const size_t freed = existing != c.subs.end() ? subs_.at(existing->second)->cost : 0;
  if (existing == c.subs.end() && c.subs.size() >= lim.max_subscriptions) {
    return refuse_req(conn, sub, "rate-limited: too many open subscriptions (limit is " +
                                     std::to_string(lim.max_subscriptions) + ")");
  }
  if (existing == c.subs.end() && subs_.size() >= lim.max_subscriptions_total) {
    return refuse_req(conn, sub, "rate-limited: the relay holds too many subscriptions, try again later");
  }
  const size_t conn_after = c.filter_bytes - freed + cost;
  if (conn_after > lim.max_filter_bytes) {
    return refuse_req(conn, sub, "rate-limited: this connection's filters would take " + std::to_string(conn_after) +
                                     " bytes (limit is " + std::to_string(lim.max_filter_bytes) +
                                     "); close subscriptions or use fewer values");
  }
  if (conn_after > kFilterReserve && filter_bytes_ - freed + cost > lim.max_filter_bytes_total) {
    return refuse_req(conn, sub, "rate-limited: the relay holds too many subscriptions, try again later");
  }
  if (existing != c.subs.end()) remove_subscription(existing->second);  // same id: the new REQ replaces it
  const SubHandle h = add_subscription(conn, c, std::move(m.sub), std::move(m.filters), /*live=*/!stored);
  Subscription& s = *subs_[h];
  save_subscriptions(conn, c, &s, "");
  if (!stored) {
    out_.send(conn, eose_message(s.id));
    return;
  }
  s.stage = QueryStage::ids_waiting;
  enqueue_query_step(h);
  if (c.queries_in_flight == 0 && c.ids_steps.size() == 1) {
    run_query_steps(now);  // an idle connection's REQ starts at once
  } else if (next_deadline_ == 0 || next_deadline_ > now) {
    // A busy connection's REQs start from timer(now), right after the frames
    // already waiting: one closed or replaced within the same burst never
    // costs a D1 query.
    next_deadline_ = now;
  }
}

void Relay::enqueue_query_step(SubHandle h) {
  const Subscription& s = *subs_.at(h);
  Connection& c = conns_.at(s.conn);
  (s.stage == QueryStage::page_waiting ? c.page_steps : c.ids_steps).push_back(h);
  if (!c.scheduled) {
    c.scheduled = true;
    query_rr_.push_back(s.conn);
  }
}

// Round-robin over connections, one step each per turn, until a full turn
// starts nothing: a client with 100 REQs waits its turn like one with one.
void Relay::timer(uint64_t now) {
  run_query_steps(now);  // which clears a passed query deadline
  expire_auth(now);
  if (sweep_at_ != 0 && !sweep_in_flight_ && now >= sweep_at_) start_sweep(now);
}

uint64_t Relay::next_alarm() const {
  uint64_t due = 0;
  auto earliest = [&due](uint64_t t) {
    if (t != 0 && (due == 0 || t < due)) due = t;
  };
  if (!sweep_in_flight_) earliest(sweep_at_);
  if (!auth_deadlines_.empty()) earliest(auth_deadlines_.begin()->first);
  return due;
}

// NIP-42 required: connections past their AUTH deadline are told why and closed.
void Relay::expire_auth(uint64_t now) {
  while (!auth_deadlines_.empty() && auth_deadlines_.begin()->first <= now) {
    const uint32_t conn = auth_deadlines_.begin()->second;
    const std::string why = policy_.auth_timed_out().wire_message();
    out_.send(conn, notice_message(why));
    out_.close(conn, 1008, why);
    drop_connection(conn);  // erases its deadline
  }
}

void Relay::start_sweep(uint64_t now) {
  sweep_in_flight_ = true;
  out_.store(add_pending(PendingSweep{}), batch_json(plan_expiry_sweep(now, kSweepBatch)));
}

void Relay::on_sweep_done(bool ok, std::string_view results, uint64_t now) {
  sweep_in_flight_ = false;
  std::vector<ResultSet> rs;
  const bool full = ok && parse_results(results, rs) && !rs.empty() && rs.back().changes >= kSweepBatch;
  // A full batch: more are expired, go on at once. Otherwise (or on failure) next interval.
  sweep_at_ = full ? now : now + kSweepInterval;
  out_.local_sql(0, stmt_json({"INSERT OR REPLACE INTO timers (name, at) VALUES (?, ?)",
                               {SqlParam::of(std::string(kSweepTimer)), SqlParam::of(static_cast<int64_t>(sweep_at_))}}));
}

void Relay::run_query_steps(uint64_t now) {
  if (next_deadline_ != 0 && now >= next_deadline_) next_deadline_ = 0;
  bool progress = true;
  while (progress && !query_rr_.empty()) {
    progress = false;
    for (size_t turn = query_rr_.size(); turn > 0 && !query_rr_.empty(); --turn) {
      const uint32_t conn = query_rr_.front();
      query_rr_.pop_front();
      auto c = conns_.find(conn);
      if (c == conns_.end()) continue;
      Connection& cn = c->second;
      // A connection's own reads wait for each other: one client's REQ churn
      // cannot fill D1's queue ahead of everyone else.
      if (cn.queries_in_flight < config_.limits.max_queries_in_flight &&
          queries_in_flight_ < config_.limits.max_queries_in_flight_total) {
        for (auto* steps : {&cn.page_steps, &cn.ids_steps}) {
          if (steps->empty() || !start_query_step(*subs_.at(steps->front()), steps->front(), now)) continue;
          ++cn.queries_in_flight;
          steps->pop_front();
          progress = true;
          break;
        }
      }
      if (cn.page_steps.empty() && cn.ids_steps.empty()) {
        cn.scheduled = false;
      } else {
        query_rr_.push_back(conn);
      }
    }
  }
}

bool Relay::start_query_step(Subscription& s, SubHandle h, uint64_t now) {
  const Limits& lim = config_.limits;
  if (s.stage == QueryStage::ids_waiting) {
    // Answers (ids, not events) are held by at most half the query budget, so
    // pages always have the other half and paging never deadlocks.
    size_t rows = 0;
    for (const auto& f : s.filters) {
      if (!f.matches_nothing()) rows += f.effective_limit(lim);
    }
    const size_t reserve = std::max<size_t>(rows, 1) * kIdRowBytes + kMaxSentBeforeEose * sizeof(EventId);
    if (query_list_bytes_ + reserve > lim.max_query_bytes_total / 2 && query_list_bytes_ > 0) return false;
    std::vector<SqlStatement> stmts;
    for (const auto& f : s.filters) {
      if (f.matches_nothing() || f.effective_limit(lim) == 0) continue;
      auto st = plan_query(f, lim, now);
      if (st) stmts.push_back(std::move(st).value());
    }
    query_list_bytes_ += reserve;
    // Raw JSON for the answer's first page comes with the ids when the page
    // budget has room for it: a small answer costs one D1 round trip.
    const size_t prefetch =
        query_list_bytes_ + query_page_bytes_ + lim.max_query_page_bytes <= lim.max_query_bytes_total ? lim.max_query_page_bytes : 0;
    query_page_bytes_ += prefetch;
    for (auto& st : stmts) st.params.front() = SqlParam::of(static_cast<int64_t>(prefetch / std::max<size_t>(stmts.size(), 1)));
    out_.store(add_pending(PendingQuery{s.conn, h, /*page=*/false, reserve, 0, prefetch}), batch_json(stmts));
    ++queries_in_flight_;
    s.stage = QueryStage::ids_in_flight;
    s.racing_batch = write_token_;
    return true;
  }
  assert(s.stage == QueryStage::page_waiting);
  // The next rows up to one page of raw JSON to fetch (at least one row: a
  // page is >= max_event_size); rows already prefetched cost nothing.
  size_t bytes = 0, n = 0, fetch = 0;
  size_t pf = s.prefetched_next;
  std::vector<EventId> ids;
  while (s.next_row + n < s.rows.size()) {
    const size_t i = s.next_row + n;
    if (pf < s.prefetched.size() && s.prefetched[pf].first == i) {
      ++pf;
      ++n;
      continue;
    }
    const size_t row = s.rows[i].size + kPageRowOverhead;
    if (fetch > 0 && bytes + row > lim.max_query_page_bytes) break;
    bytes += row;
    ++fetch;
    ++n;
    ids.push_back(s.rows[i].id);
  }
  if (query_list_bytes_ + query_page_bytes_ + bytes > lim.max_query_bytes_total && query_page_bytes_ > 0) return false;
  // Pacing: a connection gets max_query_output_rate bytes/s of stored events
  // (burst: two seconds' worth); a page that does not fit waits for time.
  Connection& c = conns_.at(s.conn);
  const uint64_t rate = lim.max_query_output_rate;
  if (now > c.tokens_at) {
    c.output_tokens = std::min<uint64_t>(2 * rate, c.output_tokens + (now - c.tokens_at) * rate);
    c.tokens_at = now;
  }
  if (c.output_tokens < bytes && c.output_tokens < 2 * rate) {  // a full bucket lets any one page go
    const uint64_t due = now + (bytes - c.output_tokens + rate - 1) / rate;
    if (next_deadline_ == 0 || due < next_deadline_) next_deadline_ = due;
    return false;
  }
  c.output_tokens -= std::min<uint64_t>(bytes, c.output_tokens);
  query_page_bytes_ += bytes;
  out_.store(add_pending(PendingQuery{s.conn, h, /*page=*/true, bytes, n, 0}), batch_json({plan_fetch(ids)}));
  ++queries_in_flight_;
  s.stage = QueryStage::page_in_flight;
  return true;
}

void Relay::on_query_done(const PendingQuery& p, bool ok, std::string_view results, uint64_t now) {
  (p.page ? query_page_bytes_ : query_list_bytes_) -= p.reserved;
  query_page_bytes_ -= p.prefetch;
  if (auto c = conns_.find(p.conn); c != conns_.end() && c->second.queries_in_flight > 0) --c->second.queries_in_flight;
  auto it = subs_.find(p.handle);
  if (it != subs_.end()) {
    Subscription& s = *it->second;
    std::vector<ResultSet> rs;
    if (!ok || !parse_results(results, rs)) {
      refuse_req(s.conn, s.id.str(), "error: could not query stored events, please try again");
    } else if (p.page) {
      on_page_done(s, p.rows, rs);
    } else {
      on_ids_done(s, rs);
    }
  }
  run_query_steps(now);  // budget was released
}

void Relay::on_ids_done(Subscription& s, std::vector<ResultSet>& rs) {
  struct Row {
    StoredRow row;
    std::string_view raw;  // borrowed from the results; empty if not prefetched
    bool has_raw;
  };
  std::vector<Row> rows;
  for (const ResultSet& r : rs) {
    if (r.cols < 4) continue;
    for (uint32_t i = 0; i < r.rows; ++i) {
      uint64_t t = 0, size = 0;
      auto id = EventId::from_hex(r.cell(i, 0));
      if (!id || !parse_decimal(r.cell(i, 1), t) || !parse_decimal(r.cell(i, 2), size)) continue;
      rows.push_back(Row{StoredRow{t, *id, static_cast<uint32_t>(std::min<uint64_t>(size, UINT32_MAX))},
                         r.is_null(i, 3) ? std::string_view() : r.cell(i, 3), !r.is_null(i, 3)});
    }
  }
  // Several filters: one newest-first stream, each event once (keeping a
  // copy that came with its raw JSON).
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.row.created_at != b.row.created_at) return a.row.created_at > b.row.created_at;
    if (a.row.id != b.row.id) return a.row.id < b.row.id;
    return a.has_raw && !b.has_raw;
  });
  rows.erase(std::unique(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.row.id == b.row.id; }),
             rows.end());
  // Already delivered live while this query ran.
  if (!s.sent_before_eose.empty()) {
    std::sort(s.sent_before_eose.begin(), s.sent_before_eose.end());
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const Row& r) {
                                return std::binary_search(s.sent_before_eose.begin(), s.sent_before_eose.end(), r.row.id);
                              }),
               rows.end());
  }
  s.sent_before_eose.clear();
  s.sent_before_eose.shrink_to_fit();
  // The leading rows that came with their JSON go out now; later ones that did
  // (another filter's first page) wait for their turn, charged to the page budget.
  size_t sent = 0, sent_bytes = 0;
  while (sent < rows.size() && rows[sent].has_raw) {
    sent_bytes += rows[sent].raw.size();
    out_.send(s.conn, event_message(s.id, rows[sent++].raw));
  }
  spend_output(s.conn, sent_bytes);
  s.rows.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    s.rows.push_back(rows[i].row);
    if (i >= sent && rows[i].has_raw) {
      s.prefetched.emplace_back(i, std::string(rows[i].raw));
      s.prefetch_bytes += rows[i].raw.size();
    }
  }
  query_page_bytes_ += s.prefetch_bytes;
  s.next_row = sent;
  if (s.next_row >= s.rows.size()) return finish_stored_query(s);
  s.list_bytes = s.rows.size() * sizeof(StoredRow);
  query_list_bytes_ += s.list_bytes;
  s.stage = QueryStage::page_waiting;
  enqueue_query_step(conns_.at(s.conn).subs.at(s.id.str()));
}

bool Relay::send_prefetched(Subscription& s) {
  while (s.next_row < s.rows.size() && s.prefetched_next < s.prefetched.size() &&
         s.prefetched[s.prefetched_next].first == s.next_row) {
    auto& [row, raw] = s.prefetched[s.prefetched_next++];
    out_.send(s.conn, event_message(s.id, raw));
    spend_output(s.conn, raw.size());
    query_page_bytes_ -= raw.size();
    s.prefetch_bytes -= raw.size();
    std::string().swap(raw);
    ++s.next_row;
  }
  if (s.next_row < s.rows.size()) return false;
  finish_stored_query(s);
  return true;
}

void Relay::spend_output(uint32_t conn, size_t bytes) {
  auto c = conns_.find(conn);
  if (c != conns_.end()) c->second.output_tokens -= std::min<uint64_t>(bytes, c->second.output_tokens);
}

void Relay::release_prefetch(Subscription& s) {
  query_page_bytes_ -= s.prefetch_bytes;
  s.prefetch_bytes = 0;
  s.prefetched = {};
  s.prefetched_next = 0;
}

void Relay::on_page_done(Subscription& s, size_t n, std::vector<ResultSet>& rs) {
  // Rows come back in no order: index them by id, send in the answer's order.
  std::vector<std::pair<EventId, std::string_view>> got;
  for (const ResultSet& r : rs) {
    if (r.cols < 2) continue;
    for (uint32_t i = 0; i < r.rows; ++i) {
      if (auto id = EventId::from_hex(r.cell(i, 0))) got.emplace_back(*id, r.cell(i, 1));
    }
  }
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const size_t end = std::min(s.next_row + n, s.rows.size());
  while (s.next_row < end) {
    if (s.prefetched_next < s.prefetched.size() && s.prefetched[s.prefetched_next].first == s.next_row) {
      send_prefetched(s);  // this row and any prefetched ones right after it
      if (s.stage == QueryStage::none) return;  // finished
      continue;
    }
    const EventId& id = s.rows[s.next_row].id;
    auto at = std::lower_bound(got.begin(), got.end(), id, [](const auto& a, const EventId& x) { return a.first < x; });
    if (at != got.end() && at->first == id) out_.send(s.conn, event_message(s.id, at->second));
    // Missing: deleted since the ids query; nothing to send.
    ++s.next_row;
  }
  if (send_prefetched(s)) return;
  s.stage = QueryStage::page_waiting;
  enqueue_query_step(conns_.at(s.conn).subs.at(s.id.str()));
}

void Relay::finish_stored_query(Subscription& s) {
  query_list_bytes_ -= s.list_bytes;
  s.list_bytes = 0;
  release_prefetch(s);
  if (s.racing_batch != 0 && s.racing_batch == write_token_ && !s.rows.empty()) {
    // The batch in flight when the ids query ran may be in this answer and is
    // fanned out when it completes: remember what was sent until then (kept
    // within this connection's filter budget: at most max_limit x max_filters ids).
    s.answered.reserve(s.rows.size());
    for (const StoredRow& r : s.rows) s.answered.push_back(r.id);
    std::sort(s.answered.begin(), s.answered.end());
    answered_subs_.push_back(conns_.at(s.conn).subs.at(s.id.str()));
  }
  s.racing_batch = 0;
  s.rows = {};
  s.next_row = 0;
  s.stage = QueryStage::none;
  s.live = true;
  s.sent_before_eose = {};
  out_.send(s.conn, eose_message(s.id));
}

void Relay::on_count(uint32_t conn, CountMessage&& m, uint64_t now) {
  const std::string sub = m.sub.str();
  Connection& c = conns_[conn];
  if (auto refused = policy_.filters(view(c), m.filters)) {
    out_.send(conn, closed_message(sub, refused->wire_message()));
    return;
  }
  if (c.pending_counts >= config_.limits.max_pending_counts) {
    out_.send(conn, closed_message(sub, "rate-limited: too many COUNTs in flight on this connection (limit is " +
                                            std::to_string(config_.limits.max_pending_counts) + ")"));
    return;
  }
  if (pending_counts_ >= config_.limits.max_pending_counts_total) {
    out_.send(conn, closed_message(sub, "rate-limited: the relay is busy counting, try again shortly"));
    return;
  }
  auto st = plan_count(m.filters, now);
  if (!st) {
    out_.send(conn, closed_message(sub, st.error().wire_message()));
    return;
  }
  ++c.pending_counts;
  ++pending_counts_;
  out_.store(add_pending(PendingCount{conn, sub}), batch_json({std::move(st).value()}));
}

void Relay::on_count_done(PendingCount p, bool ok, std::string_view results) {
  --pending_counts_;
  auto c = conns_.find(p.conn);
  if (c == conns_.end()) return;
  --c->second.pending_counts;
  std::vector<ResultSet> rs;
  uint64_t n = 0;
  if (!ok || !parse_results(results, rs) || rs.empty() || rs[0].rows != 1 || !parse_decimal(rs[0].cell(0, 0), n)) {
    out_.send(p.conn, closed_message(p.sub, "error: could not count stored events, please try again"));
    return;
  }
  out_.send(p.conn, count_message(*SubId::make(p.sub), n, false));
}

void Relay::on_close(uint32_t conn, const CloseMessage& m) {
  Connection& c = conns_[conn];
  auto it = c.subs.find(m.sub.str());
  if (it == c.subs.end()) return;
  remove_subscription(it->second);
  save_subscriptions(conn, c, nullptr, m.sub.str());
}

void Relay::on_auth(uint32_t conn, const Event& e, uint64_t now) {
  Connection& c = conns_[conn];
  auto refuse = [&](const std::string& why) { send_ok(conn, e.id(), false, why); };
  if (e.kind() != kAuthKind) return refuse(reject(Code::bad_auth, "AUTH event must be kind 22242").wire_message());
  if (auto st = verify_event(e); !st) return refuse(st.error().wire_message());
  if (auto refused = policy_.auth(view(c), e, c.challenge, now)) return refuse(refused->wire_message());
  if (!view(c).is_authed(e.pubkey())) {
    if (c.authed.size() >= config_.limits.max_logins) {
      return refuse("rate-limited: too many pubkeys authenticated on this connection (limit is " +
                    std::to_string(config_.limits.max_logins) + ")");
    }
    c.authed.push_back(e.pubkey());
  }
  if (c.auth_deadline != 0) {
    auth_deadlines_.erase({c.auth_deadline, conn});
    c.auth_deadline = 0;
  }
  send_ok(conn, e.id(), true, "");
  attach_state(conn, c);
}

void Relay::close(uint32_t conn) { drop_connection(conn); }

void Relay::drop_connection(uint32_t conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (it->second.auth_deadline != 0) auth_deadlines_.erase({it->second.auth_deadline, conn});
  std::vector<SubHandle> handles;
  for (const auto& [id, h] : it->second.subs) handles.push_back(h);
  for (const SubHandle h : handles) remove_subscription(h);
  const bool in_sql = it->second.subs_in_sql;
  conns_.erase(conn);
  if (in_sql) out_.local_sql(0, stmt_json({"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}}));
}

void Relay::store_done(uint32_t token, bool ok, std::string_view results, uint64_t now) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;  // host bug: not ours
  PendingOp op = std::move(it->second);
  pending_.erase(it);
  if (auto* batch = std::get_if<WriteBatch>(&op)) {
    on_write_done(std::move(*batch), ok, results);
  } else if (auto* q = std::get_if<PendingQuery>(&op)) {
    --queries_in_flight_;
    on_query_done(*q, ok, results, now);
  } else if (auto* cnt = std::get_if<PendingCount>(&op)) {
    on_count_done(std::move(*cnt), ok, results);
  } else if (std::holds_alternative<PendingSweep>(op)) {
    on_sweep_done(ok, results, now);
  }
}

void Relay::on_write_done(WriteBatch batch, bool ok, std::string_view results) {
  {
    write_in_flight_ = false;
    write_token_ = 0;
    std::vector<ResultSet> rs;
    const bool parsed = ok && parse_results(results, rs);
    const auto outcomes = batch.plan.outcomes(parsed ? &rs : nullptr);
    for (size_t i = 0; i < batch.events.size(); ++i) on_store_done(batch.events[i], outcomes[i]);
    // Answers that raced this batch have seen its fan-out: forget their ids.
    for (const SubHandle h : answered_subs_) {
      if (auto sub = subs_.find(h); sub != subs_.end()) sub->second->answered = {};
    }
    answered_subs_.clear();
    flush_writes();
  }
}

}  // namespace nostr::durable
