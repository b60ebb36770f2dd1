#include "core/read_plan.h"

#include <algorithm>
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
      JsonWriter arr;
      arr.begin_array();
      for (const SqlParam& v : values) {
        if (v.is_text()) {
          arr.string(v.text);
        } else {
          arr.uint(static_cast<uint64_t>(v.integer));
        }
      }
      arr.end_array();
      params_.push_back(SqlParam::of(arr.take()));
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
const TagCondition* driving_tag(const CompiledFilter& f) { return f.narrowest_tag(); }

enum class Shape { ids, tag1, tag_n, events, search };

Shape shape_of(const CompiledFilter& f) {
  // NIP-50: the full-text index drives; everything else is checked per match.
  if (f.search_query()) return Shape::search;
  if (f.ids()) return Shape::ids;
  if (const TagCondition* t = driving_tag(f))
    return t->values.size() == 1 ? Shape::tag1 : Shape::tag_n;
  return Shape::events;
}

// Appends the conditions of `f` on events alias `e` except the driving tag.
// Returns "FROM ..." for the shape.
std::string build_from_where(const CompiledFilter& f, QueryBuilder& q, uint64_t now,
                             const std::vector<Pubkey>& readers) {
  const Shape shape = shape_of(f);
  const TagCondition* drive =
      (shape == Shape::tag1 || shape == Shape::tag_n) ? driving_tag(f) : nullptr;
  std::string from = " FROM events e";
  // Authors are the most selective condition of the events shape, but SQLite
  // cannot size a json_each() list and may prefer the kind index; pin it.
  if (shape == Shape::events && f.authors()) {
    from = f.kinds() ? " FROM events e INDEXED BY events_pubkey_kind_time"
                     : " FROM events e INDEXED BY events_pubkey_time";
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
  } else if (shape == Shape::search) {
    // The index row shares its event row's rowid (migrations/0006_search.sql).
    from = " FROM events_fts s JOIN events e ON e.rowid = s.rowid";
    q.add("s.events_fts MATCH ?");
    q.param(SqlParam::of(f.search_query()->fts_expression()));
    if (f.ids()) q.add(q.in_list("e.id", hex_params(*f.ids())));
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
  // NIP-59: others' gift wraps are never in an answer.
  const bool may_match_wraps = !f.kinds() || std::find(f.kinds()->begin(), f.kinds()->end(),
                                                       kGiftWrapKind) != f.kinds()->end();
  if (may_match_wraps) {
    if (readers.empty()) {
      q.add("e.kind != " + std::to_string(kGiftWrapKind));
    } else {
      q.add("(e.kind != " + std::to_string(kGiftWrapKind) +
            " OR EXISTS (SELECT 1 FROM tags g WHERE g.event_id = e.id AND g.name = 'p' AND " +
            q.in_list("g.value", hex_params(readers)) + "))");
    }
  }
  return from;
}

Reject too_complex() {
  return reject(Code::bad_filter, "filter is too complex (too many conditions)");
}

// D1 refuses expression trees deeper than 100 ("Expression tree is too large").
// Measured against local D1 (workerd's SQLite): a filter failed from 49-51
// conditions, depending on its shape (tests/e2e checks 48 tag letters); each
// condition is one AND term, so we allow 40, leaving room for every shape.
constexpr size_t kMaxConditions = 40;

// The AND terms a filter becomes: one per tag letter, author/id/kind list and
// time bound, plus the expiration check.
size_t condition_count(const CompiledFilter& f) {
  size_t n = 1 + f.tags().size() + (f.search_query() ? 1 : 0);
  if (f.ids()) ++n;
  if (f.authors()) ++n;
  if (f.kinds()) ++n;
  if (f.since()) n += 2;  // bounded on tags and on events in some shapes
  if (f.until()) n += 2;
  return n;
}

}  // namespace

Result<SqlStatement> plan_query(const CompiledFilter& f, const Limits& limits, uint64_t now,
                                uint64_t prefetch_bytes, const std::vector<Pubkey>& readers) {
  // ~10 parameters go to scalars; lists inline only while everything fits.
  if (condition_count(f) > kMaxConditions) return too_complex();
  QueryBuilder q(/*lists_as_json=*/list_values(f) + readers.size() + 10 > kMaxSqlParams);
  const std::string from = build_from_where(f, q, now, readers);
  const Shape shape = shape_of(f);
  // NIP-50: most relevant first (FTS5 rank: bm25, lower is better), ties newest
  // first; otherwise newest first. Ties always by lowest id.
  const bool ranked = shape == Shape::search;
  const std::string order = ranked ? "score, created_at DESC, id ASC" : "created_at DESC, id ASC";
  const std::string inner_order = ranked ? " ORDER BY s.rank, e.created_at DESC, e.id ASC LIMIT ?"
                                  : shape == Shape::tag1
                                      ? " ORDER BY t.created_at DESC, t.event_id ASC LIMIT ?"
                                      : " ORDER BY e.created_at DESC, e.id ASC LIMIT ?";
  SqlStatement st;
  // The innermost SELECT is the filter's answer (in answer order, limited); the
  // window sums sizes in that order, and raw JSON is returned only while the
  // running total fits `prefetch_bytes`: a small answer costs one round trip,
  // a large one never crosses to the engine at once (the rest is paged).
  // The innermost SELECT reads only what ordering and the conditions need
  // (from the covering indexes, migrations/0010: no table row per candidate);
  // each answer row's size (octet_length() reads no content) and then, only
  // for the rows that fit, its raw JSON are read by rowid: raw selected inside
  // the window would be read (every overflow page) for every row.
  const std::string score = ranked ? ", score" : "";
  st.sql =
      "SELECT wid, created_at, size, CASE WHEN acc <= ? THEN (SELECT r.raw FROM events r WHERE "
      "r.rowid = rid) END"
      " FROM (SELECT rid, id AS wid, created_at, size" +
      score + ", sum(size) OVER (ORDER BY " + order +
      " ROWS UNBOUNDED PRECEDING) AS acc FROM (SELECT rid, id, created_at" + score +
      ", (SELECT octet_length(z.raw) FROM events z WHERE z.rowid = rid) AS size FROM ("
      "SELECT e.rowid AS rid, e.id AS id, e.created_at AS created_at" +
      (ranked ? ", s.rank AS score" : "") + from + q.where() + inner_order + "))) ORDER BY " +
      (ranked ? "score, created_at DESC, wid ASC" : "created_at DESC, wid ASC");
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

// The SELECT of the distinct ids matching any of `filters`, leaving room for
// `extra` more parameters.
static Result<SqlStatement> matching_ids(const std::vector<CompiledFilter>& filters, uint64_t now,
                                         const std::vector<Pubkey>& readers, size_t extra) {
  assert(!filters.empty());
  size_t values = 0;
  for (const auto& f : filters) {
    if (condition_count(f) > kMaxConditions) return too_complex();
    values += list_values(f) + readers.size() + 6;
  }
  const bool as_json = values + extra > kMaxSqlParams;
  SqlStatement st;
  std::vector<std::string> terms;
  for (const auto& f : filters) {
    QueryBuilder q(as_json);
    const std::string from = build_from_where(f, q, now, readers);
    terms.push_back("SELECT e.id AS id" + from + q.where());
    for (auto& p : q.take_params()) st.params.push_back(std::move(p));
  }
  if (st.params.size() + extra > kMaxSqlParams) return too_complex();
  st.sql = nested_union(terms, 0, terms.size());
  return st;
}

Result<SqlStatement> plan_count(const std::vector<CompiledFilter>& filters, uint64_t now,
                                const std::vector<Pubkey>& readers) {
  auto st = matching_ids(filters, now, readers, 0);
  if (!st) return st;
  st->sql = "SELECT COUNT(*) FROM (" + st->sql + ")";
  return st;
}

Result<SqlStatement> plan_count_hll(const std::vector<CompiledFilter>& filters, uint64_t now,
                                    const std::vector<Pubkey>& readers, uint8_t offset) {
  assert(offset >= 8 && offset <= 23);
  auto st = matching_ids(filters, now, readers, 2);
  if (!st) return st;
  // The matches' pubkeys once; per register (a hex byte of the pubkey) the
  // highest 1 + leading zero bits of the next 7 bytes: 4 per leading '0'
  // digit, then the first non-zero digit's own leading zeros (all zero: 57).
  st->sql = "WITH m AS MATERIALIZED (SELECT pubkey FROM events WHERE id IN (" + st->sql +
            ")) SELECT (SELECT COUNT(*) FROM m), r, max(CASE WHEN t = '' THEN 57 ELSE 4 * (14 - "
            "length(t)) +"
            " CASE substr(t, 1, 1) WHEN '1' THEN 4 WHEN '2' THEN 3 WHEN '3' THEN 3 WHEN '4' THEN 2 "
            "WHEN '5' THEN 2"
            " WHEN '6' THEN 2 WHEN '7' THEN 2 ELSE 1 END END)"
            " FROM (SELECT substr(pubkey, ?, 2) AS r, ltrim(substr(pubkey, ?, 14), '0') AS t FROM "
            "m) GROUP BY r";
  st->params.push_back(SqlParam::of(static_cast<int64_t>(2 * offset + 1)));
  st->params.push_back(SqlParam::of(static_cast<int64_t>(2 * offset + 3)));
  return st;
}

Result<SqlStatement> plan_neg_page(const CompiledFilter& f, uint64_t now,
                                   const std::vector<Pubkey>& readers,
                                   const std::optional<NegCursor>& after, uint32_t page) {
  if (condition_count(f) + 1 > kMaxConditions) return too_complex();
  QueryBuilder q(/*lists_as_json=*/list_values(f) + readers.size() + 14 > kMaxSqlParams);
  const std::string from = build_from_where(f, q, now, readers);
  // The tag1 shape walks tags(name, value, created_at, event_id) in order.
  const bool by_tag = shape_of(f) == Shape::tag1;
  const std::string t = by_tag ? "t.created_at" : "e.created_at";
  const std::string id = by_tag ? "t.event_id" : "e.id";
  const bool newest_first = f.limit().has_value();
  if (after) {
    q.add(newest_first ? "(" + t + " < ? OR (" + t + " = ? AND " + id + " > ?))"
                       : "(" + t + ", " + id + ") > (?, ?)");
    q.param(SqlParam::of(static_cast<int64_t>(after->created_at)));
    if (newest_first) q.param(SqlParam::of(static_cast<int64_t>(after->created_at)));
    q.param(SqlParam::of(after->id.hex()));
  }
  SqlStatement st;
  st.sql = "SELECT e.created_at, e.id" + from + q.where() + " ORDER BY " + t +
           (newest_first ? " DESC, " : ", ") + id + " LIMIT ?";
  q.param(SqlParam::of(static_cast<int64_t>(page)));
  if (q.param_count() > kMaxSqlParams) return too_complex();
  st.params = q.take_params();
  return st;
}

SqlStatement plan_fetch(const std::vector<EventId>& ids) {
  JsonWriter list;
  list.begin_array();
  for (const EventId& id : ids) list.string(id.hex());
  list.end_array();
  return SqlStatement{"SELECT id, raw FROM events WHERE id IN (SELECT value FROM json_each(?1))",
                      {SqlParam::of(list.take())}};
}

}  // namespace nostr
