#include "durable/relay.h"

#include <algorithm>
#include <cassert>
#include <variant>

#include "core/json_writer.h"
#include "core/relay_message.h"
#include "core/sql.h"
#include "core/text.h"

namespace nostr::durable {
namespace {

constexpr uint32_t kAuthKind = 22242;
// Attachment budget for connection state: Cloudflare allows 16 KiB per socket;
// past this, subscriptions move to DO SQLite.
constexpr size_t kMaxAttachmentState = 12 * 1024;
// Statements per D1 write batch. D1 counts each statement as a query and the
// free plan allows 50 per invocation; a batch never exceeds that.
constexpr size_t kMaxBatchStatements = 50;
// Events per write batch: bounds the JSON parameters (~1 KB per event) and the
// latency a large batch adds to its first event.
constexpr size_t kMaxBatchEvents = 64;
constexpr uint64_t kAuthWindow = 600;  // NIP-42: created_at within ~10 minutes

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

std::string relay_url_host(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  const size_t end = url.find_first_of(":/?#");
  return ascii_lower(url.substr(0, end));
}

void RecentIds::insert(const EventId& id) {
  std::string k = key(id);
  if (!set_.insert(k).second) return;
  order_.push_back(std::move(k));
  if (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

std::string Relay::stats_json(uint64_t memory_bytes) const {
  std::string s = "{\"connections\":";
  append_uint(s, conns_.size());
  s += ",\"subscriptions\":";
  append_uint(s, subs_.size());
  s += ",\"memory_bytes\":";
  append_uint(s, memory_bytes);
  s += '}';
  return s;
}

Relay::Relay(RelayConfig config) : config_(std::move(config)), parser_(config_.limits) {}

bool Relay::open(uint32_t conn, std::string_view challenge, std::string_view state, uint64_t /*now*/) {
  if (conns_.count(conn)) return false;
  Connection& c = conns_[conn];
  if (state.empty()) {
    c.challenge.assign(challenge);
    out_.send(conn, auth_message(c.challenge));
    attach_state(conn, c);
    return true;
  }
  // Our own ATTACH payload (see attach_state).
  simdjson::dom::element root;
  if (parser_.json().parse(state.data(), state.size(), true).get(root) == simdjson::SUCCESS) {
    std::string_view ch;
    if (root["challenge"].get_string().get(ch) == simdjson::SUCCESS) c.challenge.assign(ch);
    simdjson::dom::array authed;
    if (root["authed"].get_array().get(authed) == simdjson::SUCCESS) {
      for (simdjson::dom::element pk : authed) {
        std::string_view hex;
        if (pk.get_string().get(hex) != simdjson::SUCCESS) continue;
        if (auto p = Pubkey::from_hex(hex)) c.authed.push_back(*p);
      }
    }
    bool in_sql = false;
    if (root["sql"].get_bool().get(in_sql) == simdjson::SUCCESS) c.subs_in_sql = in_sql;
    simdjson::dom::array subs;
    if (root["subs"].get_array().get(subs) == simdjson::SUCCESS) {
      for (simdjson::dom::element entry : subs) {
        std::string_view id;
        simdjson::dom::array filters_json;
        if (entry.at(0).get_string().get(id) != simdjson::SUCCESS ||
            entry.at(1).get_array().get(filters_json) != simdjson::SUCCESS) {
          continue;
        }
        auto sub = SubId::make(id, config_.limits.max_subid_length);
        std::vector<CompiledFilter> filters;
        for (simdjson::dom::element f : filters_json) {
          if (auto cf = CompiledFilter::compile(f, config_.limits)) filters.push_back(std::move(cf).value());
        }
        if (!sub || filters.empty() || c.subs.count(sub->str())) continue;
        add_subscription(conn, c, std::move(*sub), std::move(filters), /*live=*/true);
      }
    }
  }
  return true;
}

// State JSON: {"challenge":..,"authed":[hex..],"subs":[[id,[filter..]]..]}, or
// with "sql":true instead of "subs" once subscriptions live in DO SQLite.
void Relay::attach_state(uint32_t conn, Connection& c) {
  std::string s = "{\"challenge\":";
  append_json_string(s, c.challenge);
  s += ",\"authed\":[";
  for (size_t i = 0; i < c.authed.size(); ++i) {
    if (i) s += ',';
    s += '"' + c.authed[i].hex() + '"';
  }
  s += ']';
  const size_t base = s.size();
  if (!c.subs_in_sql) {
    s += ",\"subs\":[";
    bool first = true;
    for (const auto& [id, h] : c.subs) {
      const Subscription& sub = *subs_.at(h);
      s += first ? "[" : ",[";
      first = false;
      append_json_string(s, id);
      s += ',' + subs_filters_json(sub.filters) + ']';
    }
    s += ']';
    if (s.size() + 1 > kMaxAttachmentState) {
      // Too big for the attachment: move this connection's subscriptions to SQL.
      c.subs_in_sql = true;
      for (const auto& [id, h] : c.subs) persist_subscription(*subs_.at(h));
      s.resize(base);
    }
  }
  if (c.subs_in_sql) s += ",\"sql\":true";
  s += '}';
  out_.attach(conn, s);
}

void Relay::save_subscriptions(uint32_t conn, Connection& c, const Subscription* changed, const std::string& closed) {
  if (!c.subs_in_sql) {
    attach_state(conn, c);  // may move everything to SQL
    return;
  }
  if (changed) persist_subscription(*changed);
  if (!closed.empty()) {
    out_.sql(0, stmt_json({"DELETE FROM subs WHERE conn = ? AND sub = ?",
                           {SqlParam::of(static_cast<int64_t>(conn)), SqlParam::of(closed)}}));
  }
}

void Relay::restore(uint64_t /*now*/) {
  out_.sql(0, stmt_json({"CREATE TABLE IF NOT EXISTS subs (conn INTEGER NOT NULL, sub TEXT NOT NULL,"
                         " filters TEXT NOT NULL, PRIMARY KEY (conn, sub))",
                         {}}));
  restore_token_ = next_token();
  out_.sql(restore_token_, stmt_json({"SELECT conn, sub, filters FROM subs", {}}));
}

void Relay::sql_done(uint32_t token, std::string_view results, uint64_t /*now*/) {
  if (token != 0 && token == restore_token_) {
    restore_token_ = 0;
    on_restore_rows(results);
  }
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
    if (c == conns_.end() || !sub || !c->second.subs_in_sql) {
      dead.push_back(conn);  // a closed socket's, or stale
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
    out_.sql(0, stmt_json({"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}}));
  }
}

void Relay::frame(uint32_t conn, std::string_view bytes, bool padded, uint64_t now) {
  if (!conns_.count(conn)) return;  // host bug: frames for an unknown socket
  ParsedFrame r = parser_.parse(bytes, padded);
  if (!r.ok()) {
    const MessageError& err = r.error;
    const std::string text = err.reject.wire_message();
    switch (err.reply) {
      case ReplyKind::ok: out_.send(conn, ok_message(err.event_id, false, text)); break;
      case ReplyKind::closed: out_.send(conn, closed_message(err.sub_id, text)); break;
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

bool Relay::is_authed(const Connection& c, const Pubkey& pk) const {
  return std::find(c.authed.begin(), c.authed.end(), pk) != c.authed.end();
}

void Relay::on_event(uint32_t conn, Event&& e, uint64_t now) {
  if (e.kind() == kAuthKind) {
    send_ok(conn, e.id(), false, "invalid: kind 22242 is for NIP-42 AUTH messages only");
    return;
  }
  // Cheap duplicate check before the expensive signature verification.
  if (recent_.contains(e.id())) {
    send_ok(conn, e.id(), true, "duplicate: already have this event");
    return;
  }
  if (auto st = verify_event(e); !st) {
    send_ok(conn, e.id(), false, st.error().wire_message());
    return;
  }
  if (auto st = check_event_time(e, config_.limits, now); !st) {
    send_ok(conn, e.id(), false, st.error().wire_message());
    return;
  }
  if (e.is_protected() && !is_authed(conns_[conn], e.pubkey())) {
    send_ok(conn, e.id(), false, "auth-required: this event may only be published by its author (NIP-70)");
    return;
  }
  if (e.kind_class() == KindClass::ephemeral) {
    recent_.insert(e.id());
    send_ok(conn, e.id(), true, "");
    fan_out(e);
    return;
  }
  queue_store(conn, std::move(e));
}

void Relay::queue_store(uint32_t conn, Event&& e) {
  StorePlan plan = plan_store(e);
  write_queue_.push_back(PendingStore{conn, std::make_unique<Event>(std::move(e)), std::move(plan)});
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
  const uint32_t token = next_token();
  out_.d1(token, batch_json(batch.plan.stmts));
  batch.plan.stmts.clear();  // sent; keep only the indexes
  write_batches_.emplace(token, std::move(batch));
  write_in_flight_ = true;
}

void Relay::on_store_done(const PendingStore& p, size_t index, const StoreBatch& plan,
                          const std::vector<ResultSet>* rs, std::vector<EventId>& inserted_in_batch) {
  const Event& e = *p.event;
  const size_t probe = plan.probe_stmt[index];
  const size_t row = index;
  if (!rs || rs->size() <= std::max(probe, plan.status_stmt) || (*rs)[plan.status_stmt].rows <= row ||
      (*rs)[plan.status_stmt].cols < 2) {
    send_ok(p.conn, e.id(), false, "error: could not store the event, please try again");
    return;
  }
  const std::string_view status = (*rs)[plan.status_stmt].cell(static_cast<uint32_t>(row), 1);
  const int status_code = status.size() == 1 ? status[0] - '0' : 0;
  bool inserted = false;
  if (plan.merged[index]) {
    // Inserted by its run: absent just before the run's insert, present just after.
    if (rs->size() <= probe + 2) {
      send_ok(p.conn, e.id(), false, "error: could not store the event, please try again");
      return;
    }
    const std::string id = e.id().hex();
    auto listed = [&id](const ResultSet& ids) {
      for (uint32_t r = 0; r < ids.rows; ++r) {
        if (ids.cols >= 1 && ids.cell(r, 0) == id) return true;
      }
      return false;
    };
    inserted = !listed((*rs)[probe]) && listed((*rs)[probe + 2]);
  } else {
    inserted = (*rs)[probe].changes > 0;
  }
  // The same event twice in one batch: only the first was inserted.
  if (inserted) {
    if (std::find(inserted_in_batch.begin(), inserted_in_batch.end(), e.id()) != inserted_in_batch.end()) {
      inserted = false;
    } else {
      inserted_in_batch.push_back(e.id());
    }
  }
  switch (store_outcome(inserted, status_code)) {
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
  if (e.kind_class() == KindClass::regular) recent_.insert(e.id());
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
  std::vector<std::pair<uint32_t, std::string>> targets;
  targets.reserve(hits.size());
  for (const SubHandle h : hits) {
    auto it = subs_.find(h);
    if (it == subs_.end()) continue;
    Subscription& s = *it->second;
    targets.emplace_back(s.conn, event_message_prefix(s.id));
    if (!s.live) s.sent_before_eose.push_back(e.id());
  }
  out_.fanout(e.raw(), targets);
}

SubHandle Relay::add_subscription(uint32_t conn, Connection& c, SubId id, std::vector<CompiledFilter> filters,
                                  bool live) {
  const SubHandle h = next_handle_++;
  auto sub = std::make_unique<Subscription>(Subscription{conn, std::move(id), std::move(filters), live, {}});
  index_.add(h, sub->filters);
  c.subs[sub->id.str()] = h;
  subs_.emplace(h, std::move(sub));
  return h;
}

void Relay::remove_subscription(SubHandle h) {
  auto it = subs_.find(h);
  if (it == subs_.end()) return;
  index_.remove(h);
  auto c = conns_.find(it->second->conn);
  if (c != conns_.end()) c->second.subs.erase(it->second->id.str());
  subs_.erase(it);
}

void Relay::persist_subscription(const Subscription& s) {
  out_.sql(0, stmt_json({"INSERT OR REPLACE INTO subs (conn, sub, filters) VALUES (?, ?, ?)",
                         {SqlParam::of(static_cast<int64_t>(s.conn)), SqlParam::of(s.id.str()),
                          SqlParam::of(subs_filters_json(s.filters))}}));
}

void Relay::on_req(uint32_t conn, ReqMessage&& m, uint64_t now) {
  Connection& c = conns_[conn];
  const std::string& sub = m.sub.str();
  for (const auto& f : m.filters) {
    if (f.search()) {
      out_.send(conn, closed_message(sub, "error: search (NIP-50) is not supported by this relay"));
      return;
    }
  }
  std::vector<SqlStatement> stmts;
  for (const auto& f : m.filters) {
    if (f.matches_nothing() || f.effective_limit(config_.limits) == 0) continue;
    auto st = plan_query(f, config_.limits, now);
    if (!st) {
      out_.send(conn, closed_message(sub, st.error().wire_message()));
      return;
    }
    stmts.push_back(std::move(st).value());
  }
  if (auto existing = c.subs.find(sub); existing != c.subs.end()) {
    remove_subscription(existing->second);  // same id: the new REQ replaces it
  } else if (c.subs.size() >= config_.limits.max_subscriptions) {
    out_.send(conn, closed_message(sub, "rate-limited: too many open subscriptions (limit is " +
                                            std::to_string(config_.limits.max_subscriptions) + ")"));
    return;
  }
  const bool live = stmts.empty();
  const SubHandle h = add_subscription(conn, c, std::move(m.sub), std::move(m.filters), live);
  const Subscription& s = *subs_[h];
  save_subscriptions(conn, c, &s, "");
  if (live) {
    out_.send(conn, eose_message(s.id));
    return;
  }
  const uint32_t token = next_token();
  out_.d1(token, batch_json(stmts));
  queries_.emplace(token, PendingQuery{conn, h});
}

void Relay::on_query_done(PendingQuery p, bool ok, std::string_view results) {
  auto it = subs_.find(p.handle);
  if (it == subs_.end()) return;  // closed or replaced meanwhile
  Subscription& s = *it->second;
  std::vector<ResultSet> rs;
  if (!ok || !parse_results(results, rs)) {
    out_.send(s.conn, closed_message(s.id.str(), "error: could not query stored events, please try again"));
    const uint32_t conn = s.conn;
    const std::string id = s.id.str();
    remove_subscription(p.handle);
    if (auto c = conns_.find(conn); c != conns_.end()) save_subscriptions(conn, c->second, nullptr, id);
    return;
  }
  struct Row {
    uint64_t created_at;
    std::string_view id, raw;
  };
  std::vector<Row> rows;
  for (const ResultSet& r : rs) {
    if (r.cols < 3) continue;
    for (uint32_t i = 0; i < r.rows; ++i) {
      uint64_t t = 0;
      if (!parse_decimal(r.cell(i, 1), t)) continue;
      rows.push_back(Row{t, r.cell(i, 0), r.cell(i, 2)});
    }
  }
  // Several filters: one newest-first stream, each event once.
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id < b.id;
  });
  std::vector<std::string> already;
  for (const EventId& id : s.sent_before_eose) already.push_back(id.hex());
  std::string_view prev;
  for (const Row& row : rows) {
    if (row.id == prev) continue;
    prev = row.id;
    if (std::find(already.begin(), already.end(), row.id) != already.end()) continue;
    out_.send(s.conn, event_message(s.id, row.raw));
  }
  out_.send(s.conn, eose_message(s.id));
  s.live = true;
  s.sent_before_eose.clear();
}

void Relay::on_count(uint32_t conn, CountMessage&& m, uint64_t now) {
  for (const auto& f : m.filters) {
    if (f.search()) {
      out_.send(conn, closed_message(m.sub.str(), "error: search (NIP-50) is not supported by this relay"));
      return;
    }
  }
  auto st = plan_count(m.filters, now);
  if (!st) {
    out_.send(conn, closed_message(m.sub.str(), st.error().wire_message()));
    return;
  }
  const uint32_t token = next_token();
  out_.d1(token, batch_json({std::move(st).value()}));
  counts_.emplace(token, PendingCount{conn, m.sub.str()});
}

void Relay::on_count_done(PendingCount p, bool ok, std::string_view results) {
  if (!conns_.count(p.conn)) return;
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
  if (e.kind() != kAuthKind) return refuse("invalid: AUTH event must be kind 22242");
  if (auto st = verify_event(e); !st) return refuse(st.error().wire_message());
  const uint64_t t = e.created_at();
  if (t + kAuthWindow < now || t > now + kAuthWindow) return refuse("invalid: AUTH event created_at is not recent");
  std::string_view challenge, relay;
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView tag = e.tag(i);
    if (tag.size() < 2) continue;
    if (tag[0] == "challenge") challenge = tag[1];
    if (tag[0] == "relay") relay = tag[1];
  }
  if (c.challenge.empty() || challenge != c.challenge) return refuse("invalid: AUTH challenge does not match");
  if (relay.empty()) return refuse("invalid: AUTH event has no relay tag");
  if (!config_.relay_url.empty() && relay_url_host(relay) != relay_url_host(config_.relay_url)) {
    return refuse("invalid: AUTH relay tag is for another relay");
  }
  if (!is_authed(c, e.pubkey())) c.authed.push_back(e.pubkey());
  send_ok(conn, e.id(), true, "");
  attach_state(conn, c);
}

void Relay::close(uint32_t conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  std::vector<SubHandle> handles;
  for (const auto& [id, h] : it->second.subs) handles.push_back(h);
  for (const SubHandle h : handles) remove_subscription(h);
  const bool in_sql = it->second.subs_in_sql;
  conns_.erase(conn);
  if (in_sql) out_.sql(0, stmt_json({"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}}));
}

void Relay::d1_done(uint32_t token, bool ok, std::string_view results, uint64_t /*now*/) {
  if (auto it = write_batches_.find(token); it != write_batches_.end()) {
    WriteBatch batch = std::move(it->second);
    write_batches_.erase(it);
    write_in_flight_ = false;
    std::vector<ResultSet> rs;
    const bool parsed = ok && parse_results(results, rs);
    std::vector<EventId> inserted;
    for (size_t i = 0; i < batch.events.size(); ++i) {
      on_store_done(batch.events[i], i, batch.plan, parsed ? &rs : nullptr, inserted);
    }
    flush_writes();
  } else if (auto q = queries_.find(token); q != queries_.end()) {
    PendingQuery p = q->second;
    queries_.erase(q);
    on_query_done(p, ok, results);
  } else if (auto cnt = counts_.find(token); cnt != counts_.end()) {
    PendingCount p = std::move(cnt->second);
    counts_.erase(cnt);
    on_count_done(std::move(p), ok, results);
  }
}

}  // namespace nostr::durable
