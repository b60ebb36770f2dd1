#include "core/query_plan.h"

#include <cassert>

#include "core/json_writer.h"

namespace nostr {
namespace {

// Accumulates one SELECT's WHERE clauses and bound parameters.
class QueryBuilder {
 public:
  explicit QueryBuilder(bool lists_as_json) : json_(lists_as_json) {}

  void add(std::string clause) { clauses_.push_back(std::move(clause)); }

  // Returns "col IN (?,?,..)" or "col IN (SELECT value FROM json_each(?))".
  std::string in_list(const std::string& col, const std::vector<SqlParam>& values) {
    if (values.size() == 1) {
      params_.push_back(values[0]);
      return col + " = ?";
    }
    if (json_) {
      std::string arr = "[";
      for (size_t i = 0; i < values.size(); ++i) {
        if (i) arr += ',';
        if (values[i].is_text) {
          append_json_string(arr, values[i].text);
        } else {
          append_uint(arr, static_cast<uint64_t>(values[i].integer));
        }
      }
      arr += ']';
      params_.push_back(SqlParam::of(std::move(arr)));
      return col + " IN (SELECT value FROM json_each(?))";
    }
    std::string s = col + " IN (";
    for (size_t i = 0; i < values.size(); ++i) {
      s += i ? ",?" : "?";
      params_.push_back(values[i]);
    }
    return s + ")";
  }

  void param(SqlParam p) { params_.push_back(std::move(p)); }

  // Adds `column >= since` and `column <= until` for the bounds `f` has.
  void time_bounds(const CompiledFilter& f, const std::string& column) {
    if (f.since()) {
      add(column + " >= ?");
      param(SqlParam::of(static_cast<int64_t>(*f.since())));
    }
    if (f.until()) {
      add(column + " <= ?");
      param(SqlParam::of(static_cast<int64_t>(*f.until())));
    }
  }

  std::string where() const {
    std::string s;
    for (size_t i = 0; i < clauses_.size(); ++i) {
      s += i ? " AND " : " WHERE ";
      s += clauses_[i];
    }
    return s;
  }
  std::vector<SqlParam> take_params() { return std::move(params_); }
  size_t param_count() const { return params_.size(); }

 private:
  bool json_;
  std::vector<std::string> clauses_;
  std::vector<SqlParam> params_;
};

template <typename T>
std::vector<SqlParam> hex_params(const std::vector<T>& v) {
  std::vector<SqlParam> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(SqlParam::of(x.hex()));
  return out;
}

std::vector<SqlParam> kind_params(const std::vector<uint16_t>& v) {
  std::vector<SqlParam> out;
  for (const uint16_t k : v) out.push_back(SqlParam::of(static_cast<int64_t>(k)));
  return out;
}

std::vector<SqlParam> text_params(const std::vector<std::string>& v) {
  std::vector<SqlParam> out;
  for (const auto& s : v) out.push_back(SqlParam::of(s));
  return out;
}

size_t list_values(const CompiledFilter& f) {
  size_t n = 0;
  if (f.ids()) n += f.ids()->size();
  if (f.authors()) n += f.authors()->size();
  if (f.kinds()) n += f.kinds()->size();
  for (const auto& t : f.tags()) n += t.values.size() + 1;
  return n;
}

// Which tag condition drives a tag-shaped query: the one with fewest values.
const TagCondition* driving_tag(const CompiledFilter& f) {
  const TagCondition* best = nullptr;
  for (const auto& t : f.tags()) {
    if (!best || t.values.size() < best->values.size()) best = &t;
  }
  return best;
}

enum class Shape { ids, tag1, tag_n, events };

Shape shape_of(const CompiledFilter& f) {
  if (f.ids()) return Shape::ids;
  if (const TagCondition* t = driving_tag(f)) return t->values.size() == 1 ? Shape::tag1 : Shape::tag_n;
  return Shape::events;
}

// Appends the conditions of `f` on events alias `e` except the driving tag.
// Returns "FROM ..." for the shape.
std::string build_from_where(const CompiledFilter& f, QueryBuilder& q, uint64_t now) {
  const Shape shape = shape_of(f);
  const TagCondition* drive = (shape == Shape::tag1 || shape == Shape::tag_n) ? driving_tag(f) : nullptr;
  std::string from = " FROM events e";
  // Authors are the most selective condition of the events shape, but SQLite
  // cannot size a json_each() list and may prefer the kind index; pin it.
  if (shape == Shape::events && f.authors()) {
    from = f.kinds() ? " FROM events e INDEXED BY events_pubkey_kind_time" : " FROM events e INDEXED BY events_pubkey_time";
  }
  if (shape == Shape::tag1) {
    from = " FROM tags t JOIN events e ON e.id = t.event_id";
    q.add("t.name = ?");
    q.param(SqlParam::of(std::string(1, drive->letter)));
    q.add("t.value = ?");
    q.param(SqlParam::of(drive->values[0]));
    q.time_bounds(f, "t.created_at");
    if (f.kinds()) q.add(q.in_list("t.kind", kind_params(*f.kinds())));
  } else if (shape == Shape::tag_n) {
    std::string sub = "e.id IN (SELECT event_id FROM tags WHERE name = ?";
    q.param(SqlParam::of(std::string(1, drive->letter)));
    sub += " AND " + q.in_list("value", text_params(drive->values));
    if (f.since()) {
      sub += " AND created_at >= ?";
      q.param(SqlParam::of(static_cast<int64_t>(*f.since())));
    }
    if (f.until()) {
      sub += " AND created_at <= ?";
      q.param(SqlParam::of(static_cast<int64_t>(*f.until())));
    }
    q.add(sub + ")");
  } else if (shape == Shape::ids) {
    q.add(q.in_list("e.id", hex_params(*f.ids())));
  }
  if (f.authors()) q.add(q.in_list("e.pubkey", hex_params(*f.authors())));
  if (f.kinds() && shape != Shape::tag1) q.add(q.in_list("e.kind", kind_params(*f.kinds())));
  if (shape != Shape::tag1) q.time_bounds(f, "e.created_at");
  for (const auto& t : f.tags()) {
    if (&t == drive) continue;
    std::string ex = "EXISTS (SELECT 1 FROM tags x WHERE x.event_id = e.id AND x.name = ?";
    q.param(SqlParam::of(std::string(1, t.letter)));
    ex += " AND " + q.in_list("x.value", text_params(t.values)) + ")";
    q.add(std::move(ex));
  }
  q.add("(e.expires_at IS NULL OR e.expires_at > ?)");
  q.param(SqlParam::of(static_cast<int64_t>(now)));
  return from;
}

Reject too_complex() { return reject(Code::bad_filter, "filter is too complex (too many conditions)"); }

// D1 refuses expression trees deeper than 100 ("Expression tree is too large").
// Measured against local D1 (workerd's SQLite): a filter failed from 49-51
// conditions, depending on its shape (tests/e2e checks 48 tag letters); each
// condition is one AND term, so we allow 40, leaving room for every shape.
constexpr size_t kMaxConditions = 40;

// The AND terms a filter becomes: one per tag letter, author/id/kind list and
// time bound, plus the expiration check.
size_t condition_count(const CompiledFilter& f) {
  size_t n = 1 + f.tags().size();
  if (f.ids()) ++n;
  if (f.authors()) ++n;
  if (f.kinds()) ++n;
  if (f.since()) n += 2;  // bounded on tags and on events in some shapes
  if (f.until()) n += 2;
  return n;
}

}  // namespace

Result<SqlStatement> plan_query(const CompiledFilter& f, const Limits& limits, uint64_t now, uint64_t prefetch_bytes) {
  // ~10 parameters go to scalars; lists inline only while everything fits.
  if (condition_count(f) > kMaxConditions) return too_complex();
  QueryBuilder q(/*lists_as_json=*/list_values(f) + 10 > kMaxSqlParams);
  const std::string from = build_from_where(f, q, now);
  const bool by_tag = shape_of(f) == Shape::tag1;
  SqlStatement st;
  // The innermost SELECT is the filter's answer (newest first, limited); the
  // window sums sizes in that order, and raw JSON is returned only while the
  // running total fits `prefetch_bytes`: a small answer costs one round trip,
  // a large one never crosses to the engine at once (the rest is paged).
  // raw is looked up by id only for those rows: selected inside the window it
  // would be read (every overflow page) for every row of the answer, while
  // octet_length() alone reads no content.
  st.sql =
      "SELECT wid, created_at, size, CASE WHEN acc <= ? THEN (SELECT r.raw FROM events r WHERE r.id = wid) END"
      " FROM (SELECT id AS wid, created_at, size,"
      " sum(size) OVER (ORDER BY created_at DESC, id ASC ROWS UNBOUNDED PRECEDING) AS acc FROM ("
      "SELECT e.id AS id, e.created_at AS created_at, octet_length(e.raw) AS size" +
      from + q.where() +
      (by_tag ? " ORDER BY t.created_at DESC, t.event_id ASC LIMIT ?" : " ORDER BY e.created_at DESC, e.id ASC LIMIT ?") +
      ")) ORDER BY created_at DESC, wid ASC";
  q.param(SqlParam::of(static_cast<int64_t>(f.effective_limit(limits))));
  if (q.param_count() + 1 > kMaxSqlParams) return too_complex();
  st.params.push_back(SqlParam::of(static_cast<int64_t>(prefetch_bytes)));
  for (auto& p : q.take_params()) st.params.push_back(std::move(p));
  return st;
}

namespace {

// D1 refuses a compound SELECT of more than 5 terms (a lowered
// SQLITE_MAX_COMPOUND_SELECT): nest groups of at most 5 so any number of
// filters counts in one statement.
constexpr size_t kMaxCompoundTerms = 5;

std::string nested_union(const std::vector<std::string>& terms, size_t lo, size_t hi) {
  const size_t n = hi - lo;
  std::string out;
  if (n <= kMaxCompoundTerms) {
    for (size_t i = lo; i < hi; ++i) out += (i == lo ? "" : " UNION ") + terms[i];
    return out;
  }
  const size_t group = (n + kMaxCompoundTerms - 1) / kMaxCompoundTerms;
  for (size_t g = lo; g < hi; g += group) {
    if (g != lo) out += " UNION ";
    out += "SELECT id FROM (" + nested_union(terms, g, std::min(hi, g + group)) + ")";
  }
  return out;
}

}  // namespace

Result<SqlStatement> plan_count(const std::vector<CompiledFilter>& filters, uint64_t now) {
  assert(!filters.empty());
  size_t values = 0;
  for (const auto& f : filters) {
    if (condition_count(f) > kMaxConditions) return too_complex();
    values += list_values(f) + 6;
  }
  const bool as_json = values > kMaxSqlParams;
  SqlStatement st;
  std::vector<std::string> terms;
  for (const auto& f : filters) {
    QueryBuilder q(as_json);
    const std::string from = build_from_where(f, q, now);
    terms.push_back("SELECT e.id AS id" + from + q.where());
    for (auto& p : q.take_params()) st.params.push_back(std::move(p));
  }
  if (st.params.size() > kMaxSqlParams) return too_complex();
  st.sql = "SELECT COUNT(*) FROM (" + nested_union(terms, 0, terms.size()) + ")";
  return st;
}

std::vector<SqlStatement> plan_expiry_sweep(uint64_t now, uint32_t batch) {
  const std::string expired =
      "SELECT id FROM events WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?";
  const std::vector<SqlParam> params = {SqlParam::of(static_cast<int64_t>(now)), SqlParam::of(static_cast<int64_t>(batch))};
  return {
      SqlStatement{"DELETE FROM tags WHERE event_id IN (" + expired + ")", params},
      SqlStatement{"DELETE FROM events WHERE id IN (" + expired + ")", params},
  };
}

SqlStatement plan_fetch(const std::vector<EventId>& ids) {
  std::string list = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) list += ',';
    list += '"' + ids[i].hex() + '"';
  }
  list += ']';
  return SqlStatement{"SELECT id, raw FROM events WHERE id IN (SELECT value FROM json_each(?1))",
                      {SqlParam::of(std::move(list))}};
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

  StorePlan plan{.id = e.id(), .stmts = {}, .tag_rows = {}, .status_row = {}, .insert_row = {}};
  if (!replaceable && !deletion) {
    // Regular events are inserted by their batch's run (plan_store_batch): one
    // row [id,pubkey,created_at,kind,d_tag,raw,expires_at], no statement of their own.
    plan.insert_row = "[\"" + id + "\",\"" + pubkey + "\"," + std::to_string(created) + ',' + std::to_string(kind) + ",\"\",";
    append_json_string(plan.insert_row, e.raw());
    plan.insert_row += exp ? ',' + std::to_string(*exp) + ']' : std::string(",null]");
  } else {
    // ?1 id ?2 pubkey ?3 created_at ?4 kind ?5 d_tag ?6 raw ?7 expires_at ?8 address
    SqlStatement insert;
    insert.params = {SqlParam::of(id), SqlParam::of(pubkey), SqlParam::of(created), SqlParam::of(kind),
                     SqlParam::of(d),  SqlParam::of(std::string(e.raw()))};
    insert.params.push_back(exp ? SqlParam::of(static_cast<int64_t>(*exp)) : SqlParam::of(std::string()));
    if (replaceable) insert.params.push_back(SqlParam::of(address));
    insert.sql =
        "INSERT OR IGNORE INTO events (id, pubkey, created_at, kind, d_tag, raw, expires_at)"
        " SELECT ?1, ?2, ?3, ?4, ?5, ?6, " +
        std::string(exp ? "?7" : "NULLIF(?7, '')") + " WHERE 1";
    if (!deletion) {
      // NIP-09: a deleted event published again stays deleted.
      insert.sql += " AND NOT EXISTS (SELECT 1 FROM deletions WHERE target = ?1 AND pubkey = ?2)";
    }
    if (replaceable) {
      // Only if no newer version exists (equal time: the lowest id wins), and the
      // address was not deleted at or after this version's time.
      insert.sql +=
          " AND NOT EXISTS (SELECT 1 FROM events WHERE pubkey = ?2 AND kind = ?4 AND d_tag = ?5"
          " AND (created_at > ?3 OR (created_at = ?3 AND id <= ?1)))"
          " AND NOT EXISTS (SELECT 1 FROM deletions WHERE target = ?8 AND pubkey = ?2 AND created_at >= ?3)";
    }
    plan.stmts.push_back(std::move(insert));
  }

  std::string deleted_ids = "[";
  std::string deleted_addresses = "[";
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
      deleted_ids += deleted_ids.size() > 1 ? ",\"" : "\"";
      deleted_ids += std::string(t[1]) + "\"";
    } else if (t[0] == "a") {
      // Only the author's own addresses can be deleted.
      if (auto a = parse_address(t[1]); a && a->pubkey == pubkey) {
        if (deleted_addresses.size() > 1) deleted_addresses += ',';
        append_json_string(deleted_addresses, address_of(a->kind, a->pubkey, a->d));
      }
    }
  }
  deleted_ids += ']';
  deleted_addresses += ']';
  if (replaceable) {
    // Remove the versions this one replaces, only if this one is now stored.
    std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(kind), SqlParam::of(d), SqlParam::of(id)};
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM tags WHERE event_id IN (SELECT id FROM events WHERE pubkey = ?1 AND kind = ?2"
        " AND d_tag = ?3 AND id != ?4) AND EXISTS (SELECT 1 FROM events WHERE id = ?4)",
        p});
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM events WHERE pubkey = ?1 AND kind = ?2 AND d_tag = ?3 AND id != ?4"
        " AND EXISTS (SELECT 1 FROM events WHERE id = ?4)",
        std::move(p)});
  }
  if (deletion && deleted_ids.size() > 2) {
    plan.stmts.push_back(SqlStatement{
        "INSERT INTO deletions (pubkey, target, created_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE 1"
        " ON CONFLICT (target, pubkey) DO UPDATE SET created_at = max(created_at, excluded.created_at)",
        {SqlParam::of(pubkey), SqlParam::of(created), SqlParam::of(deleted_ids)}});
    // Never another deletion request: deleting a deletion does nothing.
    const std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(deleted_ids)};
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM tags WHERE event_id IN (SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?2))"
        " AND pubkey = ?1 AND kind != 5)",
        p});
    plan.stmts.push_back(SqlStatement{
        "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?2)) AND pubkey = ?1 AND kind != 5", p});
  }
  if (deletion && deleted_addresses.size() > 2) {
    const std::vector<SqlParam> p = {SqlParam::of(pubkey), SqlParam::of(created), SqlParam::of(deleted_addresses)};
    plan.stmts.push_back(SqlStatement{
        "INSERT INTO deletions (pubkey, target, created_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE 1"
        " ON CONFLICT (target, pubkey) DO UPDATE SET created_at = max(created_at, excluded.created_at)",
        p});
    const char* match =
        " FROM events WHERE pubkey = ?1 AND created_at <= ?2"
        " AND (kind || ':' || pubkey || ':' || d_tag) IN (SELECT value FROM json_each(?3))";
    plan.stmts.push_back(SqlStatement{std::string("DELETE FROM tags WHERE event_id IN (SELECT id") + match + ")", p});
    plan.stmts.push_back(SqlStatement{std::string("DELETE") + match, p});
  }
  // [id, pubkey, address, created_at] for the batch's status query.
  plan.status_row = "[\"" + id + "\",\"" + pubkey + "\",";
  append_json_string(plan.status_row, address);
  plan.status_row += ',' + std::to_string(created) + ']';
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
      " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
      " json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),"
      " json_extract(value, '$[6]') FROM json_each(?1)"
      // NIP-09: a deleted event published again stays deleted.
      " WHERE NOT EXISTS (SELECT 1 FROM deletions WHERE target = json_extract(value, '$[0]')"
      " AND pubkey = json_extract(value, '$[1]'))",
      {SqlParam::of(rows)}});
  batch.stmts.push_back(existing);
}

}  // namespace

StoreBatch plan_store_batch(std::vector<StorePlan> plans) {
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
  batch.stmts.push_back(SqlStatement{
      "INSERT OR IGNORE INTO tags (event_id, name, value, created_at, kind)"
      " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
      " json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?1)"
      " WHERE EXISTS (SELECT 1 FROM events WHERE id = json_extract(value, '$[0]'))",
      {SqlParam::of(std::move(tag_rows))}});
  batch.status_stmt = batch.stmts.size();
  batch.stmts.push_back(SqlStatement{
      "SELECT j.id AS id, CASE WHEN EXISTS (SELECT 1 FROM events WHERE id = j.id) THEN 1"
      " WHEN EXISTS (SELECT 1 FROM deletions d WHERE d.pubkey = j.pk AND (d.target = j.id"
      " OR (d.target = j.addr AND d.created_at >= j.t))) THEN 2 ELSE 0 END AS status"
      " FROM (SELECT key AS k, json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS pk,"
      " json_extract(value, '$[2]') AS addr, json_extract(value, '$[3]') AS t FROM json_each(?1)) AS j"
      " ORDER BY j.k",
      {SqlParam::of(std::move(status_rows))}});
  return batch;
}

std::vector<std::optional<StoreOutcome>> StoreBatch::outcomes(const std::vector<ResultSet>* rs) const {
  std::vector<std::optional<StoreOutcome>> out(ids.size());
  std::vector<EventId> inserted_here;  // the same event twice in one batch: only the first was inserted
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t probe = probe_stmt[i];
    if (!rs || rs->size() <= std::max(probe, status_stmt) || (*rs)[status_stmt].rows <= i ||
        (*rs)[status_stmt].cols < 2) {
      continue;
    }
    const std::string_view cell = (*rs)[status_stmt].cell(static_cast<uint32_t>(i), 1);
    const auto status = static_cast<StoreStatus>(cell.size() == 1 && cell[0] >= '0' && cell[0] <= '2' ? cell[0] - '0' : 0);
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
      inserted = (*rs)[probe].changes > 0;
    }
    if (inserted) {
      if (std::find(inserted_here.begin(), inserted_here.end(), ids[i]) != inserted_here.end()) {
        inserted = false;
      } else {
        inserted_here.push_back(ids[i]);
      }
    }
    out[i] = inserted                         ? StoreOutcome::stored
             : status == StoreStatus::stored  ? StoreOutcome::duplicate
             : status == StoreStatus::deleted ? StoreOutcome::deleted
                                              : StoreOutcome::superseded;
  }
  return out;
}

}  // namespace nostr
