#include "core/write_plan.h"

#include <algorithm>
#include <cassert>

#include "core/json_writer.h"

namespace nostr {

std::vector<SqlStatement> plan_expiry_sweep(uint64_t now, uint32_t batch) {
  const std::string expired =
      "SELECT id FROM events WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at "
      "LIMIT ?";
  const std::vector<SqlParam> params = {SqlParam::of(static_cast<int64_t>(now)),
                                        SqlParam::of(static_cast<int64_t>(batch))};
  return {
      SqlStatement{"DELETE FROM tags WHERE event_id IN (" + expired + ")", params},
      // RETURNING: the rows deleted, counted by the caller (not `changes`,
      // which local D1 inflates within a batch).
      SqlStatement{"DELETE FROM events WHERE id IN (" + expired + ") RETURNING id", params},
  };
}

std::vector<SqlStatement> plan_search_kinds(const std::vector<uint32_t>& kinds) {
  JsonWriter w;
  w.begin_array();
  for (const uint32_t k : kinds) w.uint(k);
  const std::string list = w.end_array().take();
  return {
      SqlStatement{"DELETE FROM search_kinds WHERE kind NOT IN (SELECT value FROM json_each(?1))",
                   {SqlParam::of(list)}},
      SqlStatement{"INSERT OR IGNORE INTO search_kinds (kind) SELECT value FROM json_each(?1)",
                   {SqlParam::of(list)}},
  };
}

VanishStep plan_vanish_step(uint32_t batch) {
  // The first pending request; every statement names it the same way, and
  // the batch runs as one transaction, so they all see the same one.
  const std::string who = "(SELECT pubkey FROM vanish WHERE pending = 1 ORDER BY pubkey LIMIT 1)";
  const std::string until = "(SELECT until FROM vanish WHERE pubkey = " + who + ")";
  const SqlParam n = SqlParam::of(static_cast<int64_t>(batch));
  VanishStep step;
  step.stmts = {
      SqlStatement{"DELETE FROM vanish_batch", {}},
      // Its events up to the request's time (never the requests themselves)...
      SqlStatement{"INSERT OR IGNORE INTO vanish_batch (id) SELECT id FROM events WHERE pubkey = " +
                       who + " AND created_at <= " + until + " AND kind != 62 LIMIT ?1",
                   {n}},
      // ...and gift wraps addressed to it.
      SqlStatement{"INSERT OR IGNORE INTO vanish_batch (id) SELECT event_id FROM tags WHERE name = "
                   "'p' AND value = " +
                       who + " AND created_at <= " + until + " AND kind = 1059 LIMIT ?1",
                   {n}},
      SqlStatement{"DELETE FROM tags WHERE event_id IN (SELECT id FROM vanish_batch)", {}},
      // The search index follows through the events_fts_delete trigger.
      SqlStatement{"DELETE FROM events WHERE id IN (SELECT id FROM vanish_batch)", {}},
      // Its NIP-09 tombstones up to then are covered by the request's own.
      SqlStatement{"DELETE FROM deletions WHERE pubkey = " + who + " AND created_at <= " + until,
                   {}},
      // Fewer than a full batch left: this request is done.
      SqlStatement{"UPDATE vanish SET pending = 0 WHERE pubkey = " + who +
                       " AND (SELECT COUNT(*) FROM vanish_batch) < ?1",
                   {n}},
      SqlStatement{"SELECT (SELECT COUNT(*) FROM vanish_batch), EXISTS (SELECT 1 FROM vanish WHERE "
                   "pending = 1)",
                   {}},
      SqlStatement{"DELETE FROM vanish_batch", {}},
  };
  step.result_stmt = 7;
  return step;
}

std::optional<Address> parse_address(std::string_view a) {
  const size_t c1 = a.find(':');
  if (c1 == std::string_view::npos || c1 == 0 || c1 > 5) return std::nullopt;
  const size_t c2 = a.find(':', c1 + 1);
  if (c2 == std::string_view::npos || c2 - c1 - 1 != 64) return std::nullopt;
  uint32_t kind = 0;
  for (size_t i = 0; i < c1; ++i) {
    if (a[i] < '0' || a[i] > '9') return std::nullopt;
    kind = kind * 10 + static_cast<uint32_t>(a[i] - '0');
  }
  if (kind > 65535) return std::nullopt;
  const std::string_view pk = a.substr(c1 + 1, 64);
  if (!Pubkey::from_hex(pk)) return std::nullopt;
  return Address{kind, std::string(pk), std::string(a.substr(c2 + 1))};
}

namespace {

std::string address_of(uint32_t kind, const std::string& pubkey, std::string_view d) {
  return std::to_string(kind) + ":" + pubkey + ":" + std::string(d);
}

}  // namespace

StorePlan plan_store(const Event& e) {
  assert(e.kind_class() != KindClass::ephemeral);
  const KindClass cls = e.kind_class();
  const bool replaceable = cls == KindClass::replaceable || cls == KindClass::addressable;
  const bool deletion = e.kind() == kDeletionKind;
  const std::string id = e.id().hex();
  const std::string pubkey = e.pubkey().hex();
  const std::string d = cls == KindClass::addressable ? std::string(e.d_tag()) : std::string();
  const std::string address = replaceable ? address_of(e.kind(), pubkey, d) : std::string();
  const auto created = static_cast<int64_t>(e.created_at());
  const auto kind = static_cast<int64_t>(e.kind());
  const auto exp = e.expiration();

  const bool vanish = e.kind() == kVanishKind;
  StorePlan plan{.id = e.id(), .stmts = {}, .tag_rows = {}, .status_row = {}, .insert_row = {}};
  if (!replaceable && !deletion && !vanish) {
    // Regular events are inserted by their batch's run (plan_store_batch): one
    // row [id,pubkey,created_at,kind,d_tag,raw,expires_at], no statement of their own.
    // Hot path (every stored event) / byte-exact rows that plan_store_batch
    // splices into its arrays: direct appends, as for tag_rows and status_row.
    plan.insert_row = "[\"" + id + "\",\"" + pubkey + "\"," + std::to_string(created) + ',' +
                      std::to_string(kind) + ",\"\",";
    append_json_string(plan.insert_row, e.raw());
    plan.insert_row += exp ? ',' + std::to_string(*exp) + ']' : std::string(",null]");
  } else {
    // ?1 id ?2 pubkey ?3 created_at ?4 kind ?5 d_tag ?6 raw ?7 expires_at ?8 address
    SqlStatement insert;
    insert.params = {SqlParam::of(id),   SqlParam::of(pubkey), SqlParam::of(created),
                     SqlParam::of(kind), SqlParam::of(d),      SqlParam::of(std::string(e.raw()))};
    insert.params.push_back(exp ? SqlParam::of(static_cast<int64_t>(*exp))
                                : SqlParam::of(std::string()));
    if (replaceable) insert.params.push_back(SqlParam::of(address));
    insert.sql =
        "INSERT OR IGNORE INTO events (id, pubkey, created_at, kind, d_tag, raw, expires_at)"
        " SELECT ?1, ?2, ?3, ?4, ?5, ?6, " +
        std::string(exp ? "?7" : "NULLIF(?7, '')") + " WHERE 1";
    if (!deletion) {
      // NIP-09: a deleted event published again stays deleted.
      insert.sql += " AND NOT EXISTS (SELECT 1 FROM deletions WHERE target = ?1 AND pubkey = ?2)";
    }
    if (!vanish) {
      // NIP-62: nothing up to a request to vanish comes back (the requests stay).
      insert.sql += " AND NOT EXISTS (SELECT 1 FROM vanish WHERE pubkey = ?2 AND until >= ?3)";
    }
    if (replaceable) {
      // Only if no newer version exists (equal time: the lowest id wins), and the
      // address was not deleted at or after this version's time.
      insert.sql +=
          " AND NOT EXISTS (SELECT 1 FROM events WHERE pubkey = ?2 AND kind = ?4 AND d_tag = ?5"
          " AND (created_at > ?3 OR (created_at = ?3 AND id <= ?1)))"
          " AND NOT EXISTS (SELECT 1 FROM deletions WHERE target = ?8 AND pubkey = ?2 AND "
          "created_at >= ?3)";
    }
    // RETURNING: a row exactly when this event was inserted. `changes` cannot
    // tell: local D1 reports an ignored insert after a search-kind insert in
    // the same batch as a change (found by the soak: stale replaceable
    // versions answered OK true).
    insert.sql += " RETURNING id";
    plan.stmts.push_back(std::move(insert));
  }

  JsonWriter deleted_ids, deleted_addresses;  // NIP-09 targets, deletion requests only
  deleted_ids.begin_array();
  deleted_addresses.begin_array();
  bool any_deleted_id = false, any_deleted_address = false;
  bool any_tag = false;
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView t = e.tag(i);
    if (t.size() < 2 || t[0].size() != 1) continue;
    if (any_tag) plan.tag_rows += ',';
    any_tag = true;
    plan.tag_rows += "[\"" + id + "\",";
    append_json_string(plan.tag_rows, t[0]);
    plan.tag_rows += ',';
    append_json_string(plan.tag_rows, t[1]);
    plan.tag_rows += ',' + std::to_string(created) + ',' + std::to_string(kind) + ']';
    if (!deletion) continue;
    if (t[0] == "e" && EventId::from_hex(t[1])) {
      deleted_ids.string(t[1]);
      any_deleted_id = true;
    } else if (t[0] == "a") {
      // Only the author's own addresses can be deleted.
      if (auto a = parse_address(t[1]); a && a->pubkey == pubkey) {
        deleted_addresses.string(address_of(a->kind, a->pubkey, a->d));
        any_deleted_address = true;
      }
    }
  }
  const std::string deleted_ids_json = deleted_ids.end_array().take();
  const std::string deleted_addresses_json = deleted_addresses.end_array().take();
  if (replaceable) {
    // Remove the versions this one replaces, only if this one is now stored.
    std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(kind), SqlParam::of(d),
                               SqlParam::of(id)};
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM tags WHERE event_id IN (SELECT id FROM events WHERE pubkey = ?1 AND kind = ?2"
        " AND d_tag = ?3 AND id != ?4) AND EXISTS (SELECT 1 FROM events WHERE id = ?4)",
        p});
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM events WHERE pubkey = ?1 AND kind = ?2 AND d_tag = ?3 AND id != ?4"
        " AND EXISTS (SELECT 1 FROM events WHERE id = ?4)",
        std::move(p)});
  }
  if (vanish) {
    // The tombstone and the work item of plan_vanish_step, once it is stored.
    plan.stmts.push_back(SqlStatement{
        "INSERT INTO vanish (pubkey, until, pending) SELECT ?1, ?2, 1 WHERE EXISTS (SELECT 1 FROM "
        "events WHERE id = ?3)"
        " ON CONFLICT (pubkey) DO UPDATE SET until = max(until, excluded.until), pending = 1",
        {SqlParam::of(pubkey), SqlParam::of(created), SqlParam::of(id)}});
  }
  if (deletion && any_deleted_id) {
    plan.stmts.push_back(SqlStatement{
        "INSERT INTO deletions (pubkey, target, created_at) SELECT ?1, value, ?2 FROM "
        "json_each(?3) WHERE 1"
        " ON CONFLICT (target, pubkey) DO UPDATE SET created_at = max(created_at, "
        "excluded.created_at)",
        {SqlParam::of(pubkey), SqlParam::of(created), SqlParam::of(deleted_ids_json)}});
    // Never another deletion request: deleting a deletion does nothing.
    const std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(deleted_ids_json)};
    plan.stmts.push_back(
        SqlStatement{"DELETE FROM tags WHERE event_id IN (SELECT id FROM events WHERE id IN "
                     "(SELECT value FROM json_each(?2))"
                     " AND pubkey = ?1 AND kind != 5)",
                     p});
    plan.stmts.push_back(
        SqlStatement{"DELETE FROM events WHERE id IN (SELECT value FROM json_each(?2)) AND pubkey "
                     "= ?1 AND kind != 5",
                     p});
  }
  if (deletion && any_deleted_address) {
    const std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(created),
                                     SqlParam::of(deleted_addresses_json)};
    plan.stmts.push_back(
        SqlStatement{"INSERT INTO deletions (pubkey, target, created_at) SELECT ?1, value, ?2 FROM "
                     "json_each(?3) WHERE 1"
                     " ON CONFLICT (target, pubkey) DO UPDATE SET created_at = max(created_at, "
                     "excluded.created_at)",
                     p});
    const char* match =
        " FROM events WHERE pubkey = ?1 AND created_at <= ?2"
        " AND (kind || ':' || pubkey || ':' || d_tag) IN (SELECT value FROM json_each(?3))";
    plan.stmts.push_back(SqlStatement{
        std::string("DELETE FROM tags WHERE event_id IN (SELECT id") + match + ")", p});
    plan.stmts.push_back(SqlStatement{std::string("DELETE") + match, p});
  }
  // [id, pubkey, address, created_at] for the batch's status query.
  plan.status_row = "[\"" + id + "\",\"" + pubkey + "\",";
  append_json_string(plan.status_row, address);
  plan.status_row += ',' + std::to_string(created) + ']';
  return plan;
}

StorePlan plan_vanish_only(const Event& e) {
  assert(e.kind() == kVanishKind);
  const std::string id = e.id().hex();
  const std::string pubkey = e.pubkey().hex();
  StorePlan plan{.id = e.id(), .stmts = {}, .tag_rows = {}, .status_row = {}, .insert_row = {}};
  plan.stmts.push_back(
      SqlStatement{"INSERT INTO vanish (pubkey, until, pending) VALUES (?1, ?2, 1)"
                   " ON CONFLICT (pubkey) DO UPDATE SET until = max(until, excluded.until), "
                   "pending = 1 RETURNING pubkey",
                   {SqlParam::of(pubkey), SqlParam::of(static_cast<int64_t>(e.created_at()))}});
  plan.status_row =
      "[\"" + id + "\",\"" + pubkey + "\",\"\"," + std::to_string(e.created_at()) + ']';
  return plan;
}

size_t batch_statements(const StorePlan& p, const StorePlan* prev) {
  if (p.insert_row.empty()) return p.stmts.size();
  return prev && !prev->insert_row.empty() ? 0 : 3;  // joins the run, or opens one
}

namespace {

// A run of regular events: the ids already stored before it, then one insert.
void append_run(StoreBatch& batch, const std::string& rows) {
  const SqlStatement existing{
      "SELECT json_extract(value, '$[0]') AS id FROM json_each(?1)"
      " WHERE EXISTS (SELECT 1 FROM events WHERE id = json_extract(value, '$[0]'))",
      {SqlParam::of(rows)}};
  batch.stmts.push_back(existing);
  batch.stmts.push_back(SqlStatement{
      "INSERT OR IGNORE INTO events (id, pubkey, created_at, kind, d_tag, raw, expires_at)"
      " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, "
      "'$[2]'),"
      " json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),"
      " json_extract(value, '$[6]') FROM json_each(?1)"
      // NIP-09: a deleted event published again stays deleted; NIP-62: nothing
      // up to a request to vanish comes back.
      " WHERE NOT EXISTS (SELECT 1 FROM deletions WHERE target = json_extract(value, '$[0]')"
      " AND pubkey = json_extract(value, '$[1]'))"
      " AND NOT EXISTS (SELECT 1 FROM vanish WHERE pubkey = json_extract(value, '$[1]')"
      " AND until >= json_extract(value, '$[2]'))",
      {SqlParam::of(rows)}});
  batch.stmts.push_back(existing);
}

}  // namespace

StoreBatch plan_store_batch(std::vector<StorePlan> plans) {
  // Hot path (every stored batch) splicing the plans' prebuilt rows (tag_rows
  // holds several elements): direct appends.
  StoreBatch batch;
  std::string tag_rows = "[";
  std::string status_rows = "[";
  std::string run;  // JSON array of the current run's insert rows
  std::vector<size_t> run_members;
  auto close_run = [&] {
    if (run_members.empty()) return;
    const size_t probe = batch.stmts.size();
    append_run(batch, run + "]");
    for (const size_t i : run_members) batch.probe_stmt[i] = probe;
    run.clear();
    run_members.clear();
  };
  batch.probe_stmt.resize(plans.size());
  batch.merged.resize(plans.size());
  for (const StorePlan& p : plans) batch.ids.push_back(p.id);
  for (size_t i = 0; i < plans.size(); ++i) {
    StorePlan& p = plans[i];
    assert(p.insert_row.empty() != p.stmts.empty());  // a run row, or own statements
    if (!p.insert_row.empty()) {
      run += run.empty() ? "[" : ",";
      run += p.insert_row;
      run_members.push_back(i);
      batch.merged[i] = true;
    } else {
      close_run();
      batch.probe_stmt[i] = batch.stmts.size();
      for (SqlStatement& st : p.stmts) batch.stmts.push_back(std::move(st));
    }
    if (!p.tag_rows.empty()) {
      if (tag_rows.size() > 1) tag_rows += ',';
      tag_rows += p.tag_rows;
    }
    if (status_rows.size() > 1) status_rows += ',';
    status_rows += p.status_row;
  }
  close_run();
  tag_rows += ']';
  status_rows += ']';
  // Always present, so a batch's statement count is predictable (batch_statements + 2).
  batch.stmts.push_back(
      SqlStatement{"INSERT OR IGNORE INTO tags (event_id, name, value, created_at, kind)"
                   " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                   "json_extract(value, '$[2]'),"
                   " json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?1)"
                   " WHERE EXISTS (SELECT 1 FROM events WHERE id = json_extract(value, '$[0]'))",
                   {SqlParam::of(std::move(tag_rows))}});
  batch.status_stmt = batch.stmts.size();
  batch.stmts.push_back(SqlStatement{
      "SELECT j.id AS id, CASE WHEN EXISTS (SELECT 1 FROM events WHERE id = j.id) THEN 1"
      " WHEN EXISTS (SELECT 1 FROM deletions d WHERE d.pubkey = j.pk AND (d.target = j.id"
      " OR (d.target = j.addr AND d.created_at >= j.t))) THEN 2"
      " WHEN EXISTS (SELECT 1 FROM vanish v WHERE v.pubkey = j.pk AND v.until >= j.t) THEN 3 ELSE "
      "0 END AS status"
      " FROM (SELECT key AS k, json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS "
      "pk,"
      " json_extract(value, '$[2]') AS addr, json_extract(value, '$[3]') AS t FROM json_each(?1)) "
      "AS j"
      " ORDER BY j.k",
      {SqlParam::of(std::move(status_rows))}});
  return batch;
}

std::vector<std::optional<StoreOutcome>> StoreBatch::outcomes(
    const std::vector<ResultSet>* rs) const {
  std::vector<std::optional<StoreOutcome>> out(ids.size());
  std::vector<EventId>
      inserted_here;  // the same event twice in one batch: only the first was inserted
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t probe = probe_stmt[i];
    if (!rs || rs->size() <= std::max(probe, status_stmt) || (*rs)[status_stmt].rows <= i ||
        (*rs)[status_stmt].cols < 2) {
      continue;
    }
    const std::string_view cell = (*rs)[status_stmt].cell(static_cast<uint32_t>(i), 1);
    const auto status = static_cast<StoreStatus>(
        cell.size() == 1 && cell[0] >= '0' && cell[0] <= '3' ? cell[0] - '0' : 0);
    bool inserted = false;
    if (merged[i]) {
      // Inserted by its run: absent just before the run's insert, present just after.
      if (rs->size() <= probe + 2) continue;
      const std::string id = ids[i].hex();
      auto listed = [&id](const ResultSet& r) {
        for (uint32_t row = 0; row < r.rows; ++row) {
          if (r.cols >= 1 && r.cell(row, 0) == id) return true;
        }
        return false;
      };
      inserted = !listed((*rs)[probe]) && listed((*rs)[probe + 2]);
    } else {
      inserted = (*rs)[probe].rows > 0;  // its insert's RETURNING row
    }
    if (inserted) {
      if (std::find(inserted_here.begin(), inserted_here.end(), ids[i]) != inserted_here.end()) {
        inserted = false;
      } else {
        inserted_here.push_back(ids[i]);
      }
    }
    out[i] = inserted                          ? StoreOutcome::stored
             : status == StoreStatus::stored   ? StoreOutcome::duplicate
             : status == StoreStatus::deleted  ? StoreOutcome::deleted
             : status == StoreStatus::vanished ? StoreOutcome::vanished
                                               : StoreOutcome::superseded;
  }
  return out;
}

SqlStatement plan_peer_summaries(std::string_view self, std::string_view known_json) {
  return SqlStatement{
      "SELECT name, version, summary FROM relay_objects WHERE name != ?1"
      " AND version > COALESCE(json_extract(?2, '$.\"' || name || '\"'), 0) ORDER BY name",
      {SqlParam::of(std::string(self)), SqlParam::of(std::string(known_json))}};
}

SqlStatement plan_publish_interest(std::string_view self, int64_t version, std::string_view summary,
                                   uint64_t now) {
  return SqlStatement{
      "INSERT INTO relay_objects (name, version, summary, updated_at) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (name) DO UPDATE SET version = excluded.version, summary = excluded.summary,"
      " updated_at = excluded.updated_at WHERE excluded.version > relay_objects.version",
      {SqlParam::of(std::string(self)), SqlParam::of(version), SqlParam::of(std::string(summary)),
       SqlParam::of(static_cast<int64_t>(now))}};
}

std::vector<SqlStatement> plan_retention_select(const Retention& r, std::string_view holder,
                                                uint64_t now, bool start, uint32_t batch) {
  std::vector<SqlStatement> out;
  if (start) {
    out.push_back(SqlStatement{
        "INSERT INTO retention_lease (id, holder, until) VALUES (0, ?1, ?2) ON CONFLICT (id) DO "
        "UPDATE"
        " SET holder = excluded.holder, until = excluded.until WHERE retention_lease.until <= ?3",
        {SqlParam::of(std::string(holder)),
         SqlParam::of(static_cast<int64_t>(now + r.interval_seconds)),
         SqlParam::of(static_cast<int64_t>(now))}});
  }
  // ?1 holder, ?2 batch, then 3 per rule, then the cap.
  std::vector<SqlParam> params{SqlParam::of(std::string(holder)),
                               SqlParam::of(static_cast<int64_t>(batch))};
  std::string cond;
  for (const RetentionRule& rule : r.rules) {
    const size_t n = params.size();
    if (!cond.empty()) cond += " OR ";
    cond += "(kind BETWEEN ?" + std::to_string(n + 1) + " AND ?" + std::to_string(n + 2) +
            " AND created_at < ?" + std::to_string(n + 3) + ")";
    params.push_back(SqlParam::of(static_cast<int64_t>(rule.kind_from)));
    params.push_back(SqlParam::of(static_cast<int64_t>(rule.kind_to)));
    params.push_back(SqlParam::of(
        static_cast<int64_t>(now > rule.max_age_seconds ? now - rule.max_age_seconds : 0)));
  }
  if (r.max_events > 0) {
    // Older than the max_events-th newest event (the events_time index).
    if (!cond.empty()) cond += " OR ";
    cond +=
        "created_at < COALESCE((SELECT created_at FROM events ORDER BY created_at DESC LIMIT 1 "
        "OFFSET ?" +
        std::to_string(params.size() + 1) + "), 0)";
    params.push_back(SqlParam::of(static_cast<int64_t>(r.max_events - 1)));
  }
  if (cond.empty()) cond = "0";
  out.push_back(
      SqlStatement{"SELECT id, created_at, raw FROM events WHERE (SELECT holder FROM "
                   "retention_lease WHERE id = 0) = ?1 AND (" +
                       cond + ") ORDER BY created_at LIMIT ?2",
                   std::move(params)});
  return out;
}

std::vector<SqlStatement> plan_retention_delete(std::string ids_json, std::string archives_json,
                                                uint64_t now) {
  std::vector<SqlStatement> out{
      SqlStatement{"DELETE FROM tags WHERE event_id IN (SELECT value FROM json_each(?1))",
                   {SqlParam::of(ids_json)}},
      SqlStatement{"DELETE FROM events WHERE id IN (SELECT value FROM json_each(?1))",
                   {SqlParam::of(ids_json)}},
  };
  if (archives_json != "[]") {
    out.push_back(SqlStatement{
        "INSERT OR REPLACE INTO archives (key, events, first_at, last_at, archived_at)"
        " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, "
        "'$[2]'),"
        " json_extract(value, '$[3]'), ?2 FROM json_each(?1)",
        {SqlParam::of(std::move(archives_json)), SqlParam::of(static_cast<int64_t>(now))}});
  }
  return out;
}

}  // namespace nostr
