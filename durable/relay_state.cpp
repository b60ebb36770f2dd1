// Relay: what survives hibernation. Connection state kept with the socket
// (ConnState), subscriptions that outgrew it and timer times in local SQL,
// the local schema's migrations, and reading all of it back at a wake.
#include <algorithm>
#include <cassert>
#include <variant>

#include "core/json_writer.h"
#include "core/sql.h"
#include "core/text.h"
#include "core/verify.h"
#include "durable/local_schema.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

// The connection's ConnState, kept with its socket. Subscriptions go in it
// while it fits ConnState::kMaxBytes; past that they move to local SQL for good.
void Relay::attach_state(ConnId conn, Connection& c) {
  if (c.api) return;  // an API call does not outlive its request
  ConnState st;
  st.meta = c.meta;
  st.challenge = c.challenge;
  st.authed = c.authed;
  st.buckets = c.buckets;
  st.subs_in_local_sql = c.subs_in_sql;
  if (!c.subs_in_sql) {
    for (const auto& [id, h] : c.subs)
      st.subs.emplace_back(id, subs_filters_json(subs_.at(h).filters));
  }
  std::string json = st.to_json();
  if (!c.subs_in_sql && json.size() + 1 > ConnState::kMaxBytes) {
    // Too big for the socket: move this connection's subscriptions to local SQL.
    c.subs_in_sql = true;
    for (const auto& [id, h] : c.subs) persist_subscription(subs_.at(h));
    st.subs.clear();
    st.subs_in_local_sql = true;
    json = st.to_json();
  }
  out_.save_conn_state(conn, std::move(json));
}

void Relay::save_subscriptions(ConnId conn, Connection& c, const Subscription* changed,
                               const std::string& closed) {
  if (c.api) return;
  if (!c.subs_in_sql) {
    attach_state(conn, c);  // may move everything to SQL
    return;
  }
  if (changed) persist_subscription(*changed);
  if (!closed.empty()) {
    out_.local_sql(0, {"DELETE FROM subs WHERE conn = ? AND sub = ?",
                       {SqlParam::of(static_cast<int64_t>(conn)), SqlParam::of(closed)}});
  }
}

void Relay::persist_subscription(const Subscription& s) {
  out_.local_sql(0, {"INSERT OR REPLACE INTO subs (conn, sub, filters) VALUES (?, ?, ?)",
                     {SqlParam::of(static_cast<int64_t>(s.conn)), SqlParam::of(s.id.str()),
                      SqlParam::of(subs_filters_json(s.filters))}});
}

void Relay::restore(uint64_t now) {
  const Entry entry{*this, now};
  management_.load(now, ManagementSink(*this).self());
  retention_.start(now);
  out_.local_sql(0, {"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", {}});
  out_.local_sql(add_pending(PendingSchema{}), {"SELECT MAX(version) FROM schema_version", {}});
}

// Brings local SQL to the current schema, then reads what it keeps.
void Relay::on_schema_version(const BatchResult& r) {
  const std::vector<ResultSet>& rs = r.sets;
  uint64_t version = 0;
  if (r.ok && rs.size() == 1 && rs[0].rows == 1 && rs[0].cols == 1 && !rs[0].is_null(0, 0)) {
    if (!parse_decimal(rs[0].cell(0, 0), version)) version = 0;
  }
  const size_t latest = std::size(kLocalMigrations);
  for (size_t v = 0; v < latest; ++v) {
    if (v >= version || kLocalMigrations[v].idempotent)
      out_.local_sql(0, {std::string(kLocalMigrations[v].sql), {}});
  }
  if (version < latest) {
    out_.local_sql(0, {"DELETE FROM schema_version", {}});
    out_.local_sql(0, {"INSERT INTO schema_version (version) VALUES (?)",
                       {SqlParam::of(static_cast<int64_t>(latest))}});
  }
  out_.local_sql(add_pending(PendingRestore{}), {"SELECT conn, sub, filters FROM subs", {}});
  out_.local_sql(add_pending(RateLimiter::SavedRead{}), RateLimiter::saved_read());
  out_.local_sql(
      add_pending(PendingWakes{}),

      {"INSERT INTO counters (name, value) VALUES ('wakes', 1) ON CONFLICT (name) DO UPDATE SET"
       " value = value + 1 RETURNING value",
       {}});
  out_.local_sql(add_pending(OpsLog::SavedRead{}), OpsLog::saved_read());
  maintenance_.read_saved(MaintenanceSink(*this).self());
}

void Relay::on_restore_rows(const BatchResult& r) {
  const std::vector<ResultSet>& rs = r.sets;
  if (!r.ok || rs.size() != 1 || rs[0].cols != 3) return;
  std::vector<uint64_t> dead;
  for (uint32_t r = 0; r < rs[0].rows; ++r) {
    uint64_t conn = 0;
    if (!parse_decimal(rs[0].cell(r, 0), conn)) continue;
    auto* c = conns_.find(static_cast<uint32_t>(conn));
    auto sub = SubId::make(rs[0].cell(r, 1), config_.limits.max_subid_length);
    if (!c || !c->subs_in_sql) {
      dead.push_back(conn);  // a closed socket's, or stale
      continue;
    }
    if (!sub) {  // unreadable now (e.g. max_subid_length lowered): drop only that row
      out_.local_sql(0, {"DELETE FROM subs WHERE conn = ? AND sub = ?",
                         {SqlParam::of(static_cast<int64_t>(conn)),
                          SqlParam::of(std::string(rs[0].cell(r, 1)))}});
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
    if (c->subs.count(sub->str())) continue;  // already live (should not happen)
    add_subscription(static_cast<uint32_t>(conn), *c, std::move(*sub), std::move(filters),
                     /*live=*/true);
  }
  std::sort(dead.begin(), dead.end());
  dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
  for (const uint64_t conn : dead) {
    out_.local_sql(0,
                   {"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}});
  }
}

}  // namespace nostr::durable
