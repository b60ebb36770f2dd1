// The planner's SQL, run on real SQLite loaded with schema.sql:
//  - every query shape uses an index (EXPLAIN QUERY PLAN), never a full scan;
//  - stored-event queries return exactly what a naive in-memory store returns
//    (replacement, expiration, ordering, limits), on random data from a fixed seed;
//  - no statement exceeds the 100-parameter cap.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/hex.h"
#include "core/query_plan.h"
#include "core/sql.h"
#include "../support/sqlite_exec.h"
#include "../support/rng.h"

namespace {

using nostr::test::Rng;

std::string schema_path() { return std::string(NOSTR_SOURCE_DIR) + "/schema.sql"; }

std::string hex64(Rng& r) {
  std::string s(64, '0');
  for (char& c : s) c = "0123456789abcdef"[r.below(16)];
  return s;
}

nostr::CompiledFilter filter(simdjson::dom::parser& p, const std::string& json, const nostr::Limits& l = {}) {
  auto f = nostr::CompiledFilter::parse(p, json, l);
  REQUIRE_MESSAGE(f.ok(), json);
  return std::move(f).value();
}

// Returns true if a plan never scans a table without an index.
bool uses_indexes(const std::string& plan) {
  std::string::size_type pos = 0;
  while (pos < plan.size()) {
    const auto end = plan.find('\n', pos);
    const std::string line = plan.substr(pos, end - pos);
    if (line.rfind("SCAN ", 0) == 0 && line.find("USING") == std::string::npos &&
        line.find("VIRTUAL TABLE") == std::string::npos && line.find("CONSTANT ROW") == std::string::npos &&
        line.find("SUBQUERY") == std::string::npos && line.find("subquery") == std::string::npos) {  // our own limited rows
      return false;
    }
    pos = end == std::string::npos ? plan.size() : end + 1;
  }
  return true;
}

}  // namespace

TEST_CASE("query plans use the schema's indexes") {
  nostr::test::SqliteDb db(schema_path());
  simdjson::dom::parser p;
  const std::string a(64, 'a'), b(64, 'b');
  std::string many_authors = "{\"authors\":[";
  for (int i = 0; i < 150; ++i) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", i);
    many_authors += (i ? ",\"" : "\"") + std::string(buf) + "\"";
  }
  many_authors += "],\"kinds\":[1]}";
  struct Case {
    std::string name;
    std::string filter;
    const char* index;  // expected to appear in the plan
  };
  const Case cases[] = {
      {"authors+kinds", "{\"authors\":[\"" + a + "\",\"" + b + "\"],\"kinds\":[1,6],\"limit\":100}", "events_pubkey_kind_time"},
      {"authors", "{\"authors\":[\"" + a + "\"]}", "events_pubkey"},
      {"#e", "{\"#e\":[\"" + a + "\"]}", "PRIMARY KEY"},
      {"#p+kinds", "{\"#p\":[\"" + a + "\"],\"kinds\":[1,7]}", "PRIMARY KEY"},
      {"#t several", "{\"#t\":[\"x\",\"y\"],\"since\":5}", "PRIMARY KEY"},
      {"kinds+since", "{\"kinds\":[1],\"since\":1000,\"limit\":500}", "events_kind_time"},
      {"ids", "{\"ids\":[\"" + a + "\",\"" + b + "\"]}", "sqlite_autoindex_events_1"},
      {"everything", "{\"limit\":10}", "events_time"},
      {"since/until", "{\"since\":1,\"until\":2}", "events_time"},
      {"150 authors via json_each", many_authors, "events_pubkey_kind_time"},
      {"two tags", "{\"#e\":[\"" + a + "\"],\"#t\":[\"x\"]}", "tags_event"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const auto st = nostr::plan_query(filter(p, c.filter), nostr::Limits{}, 100);
    REQUIRE(st.ok());
    CHECK(st->params.size() <= nostr::kMaxSqlParams);
    const std::string plan = db.explain(st.value());
    CAPTURE(st->sql);
    CAPTURE(plan);
    CHECK(plan.rfind("ERROR", 0) != 0);
    CHECK(uses_indexes(plan));
    CHECK(plan.find(c.index) != std::string::npos);
  }
  // The write path (replacement lookups, deletions) uses indexes too.
  nostr::Limits l;
  simdjson::dom::parser ep;
  const std::string ev = "{\"id\":\"" + a + "\",\"pubkey\":\"" + b +
                         "\",\"created_at\":5,\"kind\":30023,\"tags\":[[\"d\",\"x\"],[\"t\",\"y\"]],\"content\":\"\",\"sig\":\"" +
                         std::string(128, 'c') + "\"}";
  auto e = nostr::Event::parse(ep, ev, l);
  REQUIRE(e.ok());
  for (const auto& st : nostr::plan_store_batch({nostr::plan_store(e.value())}).stmts) {
    const std::string plan = db.explain(st);
    CAPTURE(st.sql);
    CAPTURE(plan);
    CHECK(uses_indexes(plan));
  }
  // The NIP-40 sweep finds expired events through the partial expiry index.
  for (const auto& st : nostr::plan_expiry_sweep(100, 500)) {
    const std::string plan = db.explain(st);
    CAPTURE(st.sql);
    CAPTURE(plan);
    CHECK(uses_indexes(plan));
    CHECK(plan.find("events_expires") != std::string::npos);
  }
}

TEST_CASE("stored queries equal a naive in-memory store on random data") {
  nostr::test::SqliteDb db(schema_path());
  simdjson::dom::parser p;
  nostr::Limits limits;
  limits.default_limit = 40;
  limits.max_limit = 60;
  Rng rng{0xD1D1D1};
  std::vector<std::string> pubkeys, values;
  for (int i = 0; i < 5; ++i) pubkeys.push_back(hex64(rng));
  for (int i = 0; i < 5; ++i) values.push_back(hex64(rng));
  const std::vector<uint32_t> kinds = {1, 1, 1, 7, 0, 3, 10002, 30023, 30023, 5};
  const std::vector<std::string> words = {"a", "b", "nostr", ""};
  const uint64_t now = 2000;

  // Reference store: id -> event, with NIP-01 replacement.
  std::map<std::string, nostr::Event> ref;
  std::vector<nostr::StorePlan> pending;
  size_t batches = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string id = hex64(rng);
    const std::string& pk = pubkeys[rng.below(pubkeys.size())];
    const uint32_t kind = kinds[rng.below(kinds.size())];
    const uint64_t created = 1000 + rng.below(60);  // many equal timestamps
    std::string tags = "[";
    auto add = [&](const std::string& t) { tags += (tags.size() > 1 ? "," : "") + t; };
    if (kind == 30023) add("[\"d\",\"" + words[rng.below(2)] + "\"]");
    if (rng.chance(50)) add("[\"e\",\"" + values[rng.below(values.size())] + "\"]");
    if (rng.chance(40)) add("[\"p\",\"" + values[rng.below(values.size())] + "\"]");
    if (rng.chance(40)) add("[\"t\",\"" + words[rng.below(words.size())] + "\"]");
    if (rng.chance(10)) add("[\"expiration\",\"" + std::to_string(now - 50 + rng.below(100)) + "\"]");
    tags += "]";
    const std::string json = "{\"id\":\"" + id + "\",\"pubkey\":\"" + pk + "\",\"created_at\":" + std::to_string(created) +
                             ",\"kind\":" + std::to_string(kind) + ",\"tags\":" + tags + ",\"content\":\"x\",\"sig\":\"" +
                             std::string(128, 'f') + "\"}";
    auto e = nostr::Event::parse(p, json, limits);
    REQUIRE(e.ok());
    // Store through the planner, in write batches of random size (as group
    // commit does): batch-level tag/status statements must keep the
    // sequential semantics of the reference below.
    pending.push_back(nostr::plan_store(e.value()));
    if (rng.chance(30) || i == 499) {
      const nostr::StoreBatch batch = nostr::plan_store_batch(std::move(pending));
      pending.clear();
      std::string out, err;
      REQUIRE_MESSAGE(db.run_batch(batch.stmts, out, err), err);
      ++batches;
    }
    // Reference semantics.
    const auto cls = e->kind_class();
    bool insert = true;
    if (cls == nostr::KindClass::replaceable || cls == nostr::KindClass::addressable) {
      const std::string d = cls == nostr::KindClass::addressable ? std::string(e->d_tag()) : "";
      for (auto it = ref.begin(); it != ref.end();) {
        const nostr::Event& o = it->second;
        const bool same = o.pubkey() == e->pubkey() && o.kind() == e->kind() &&
                          (cls == nostr::KindClass::replaceable || o.d_tag() == d);
        if (same) {
          const bool newer_exists = o.created_at() > e->created_at() ||
                                    (o.created_at() == e->created_at() && o.id().hex() <= e->id().hex());
          if (newer_exists) {
            insert = false;
            ++it;
          } else {
            it = ref.erase(it);
          }
        } else {
          ++it;
        }
      }
    }
    if (insert) ref.emplace(e->id().hex(), e.value());
  }
  CHECK(batches < 250);  // really batched
  // Same contents.
  {
    nostr::test::SqliteDb* d = &db;
    std::string out, err;
    REQUIRE(d->run_one({"SELECT COUNT(*) FROM events", {}}, out, err));
    CHECK(out.substr(out.size() - std::to_string(ref.size()).size()) == std::to_string(ref.size()));
  }

  size_t compared = 0, nonempty = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> parts;
    auto list = [&](const std::vector<std::string>& pool, size_t max) {
      std::string s = "[";
      const size_t n = 1 + rng.below(max);
      for (size_t k = 0; k < n; ++k) s += (k ? ",\"" : "\"") + pool[rng.below(pool.size())] + "\"";
      return s + "]";
    };
    if (rng.chance(40)) parts.push_back("\"authors\":" + list(pubkeys, 3));
    if (rng.chance(40)) {
      std::string k = "\"kinds\":[";
      const size_t n = 1 + rng.below(3);
      for (size_t j = 0; j < n; ++j) k += (j ? "," : "") + std::to_string(kinds[rng.below(kinds.size())]);
      parts.push_back(k + "]");
    }
    if (rng.chance(30)) parts.push_back("\"#e\":" + list(values, 2));
    if (rng.chance(20)) parts.push_back("\"#p\":" + list(values, 2));
    if (rng.chance(20)) parts.push_back("\"#t\":" + list(words, 2));
    if (rng.chance(15)) parts.push_back("\"#d\":" + list(words, 2));
    if (rng.chance(30)) parts.push_back("\"since\":" + std::to_string(1000 + rng.below(60)));
    if (rng.chance(30)) parts.push_back("\"until\":" + std::to_string(1000 + rng.below(60)));
    if (rng.chance(50)) parts.push_back("\"limit\":" + std::to_string(rng.below(80)));
    if (rng.chance(8)) {
      std::vector<std::string> ids;
      for (const auto& [id, e] : ref) ids.push_back(id);
      parts.push_back("\"ids\":" + list(ids, 4));
    }
    std::string json = "{";
    for (size_t k = 0; k < parts.size(); ++k) json += (k ? "," : "") + parts[k];
    json += "}";
    CAPTURE(json);
    const auto f = filter(p, json, limits);

    std::vector<std::pair<uint64_t, std::string>> expect;
    for (const auto& [id, e] : ref) {
      const auto exp = e.expiration();
      if (exp && *exp <= now) continue;
      if (f.matches(e)) expect.emplace_back(e.created_at(), id);
    }
    std::sort(expect.begin(), expect.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    const size_t total_matching = expect.size();
    if (expect.size() > f.effective_limit(limits)) expect.resize(f.effective_limit(limits));

    // Prefetch budget: some iterations none, some everything, some a cut.
    const uint64_t prefetch = compared % 3 == 0 ? 0 : compared % 3 == 1 ? 1u << 30 : 900;
    const auto st = nostr::plan_query(f, limits, now, prefetch);
    REQUIRE(st.ok());
    CHECK(st->params.size() <= nostr::kMaxSqlParams);
    std::string out, err;
    CAPTURE(st->sql);
    REQUIRE_MESSAGE(db.run_one(st.value(), out, err), err);
    // Decode: u32 n=1, u32 changes, rows, cols, cells (u32 len or 0xFFFFFFFF for NULL)...
    auto rd = [&](size_t& at) {
      uint32_t v;
      std::memcpy(&v, out.data() + at, 4);
      at += 4;
      return v;
    };
    size_t at = 4;
    rd(at);
    const uint32_t rows = rd(at), cols = rd(at);
    REQUIRE(cols == 4);
    std::vector<std::pair<uint64_t, std::string>> got;
    uint64_t acc = 0;
    bool cut = false;
    for (uint32_t r = 0; r < rows; ++r) {
      std::string cells[4];
      bool null_raw = false;
      for (int c = 0; c < 4; ++c) {
        const uint32_t len = rd(at);
        if (len == 0xFFFFFFFFu) {
          null_raw = c == 3;
          continue;
        }
        cells[c] = out.substr(at, len);
        at += len;
      }
      got.emplace_back(std::stoull(cells[1]), cells[0]);
      const std::string raw(ref.at(cells[0]).raw());
      CHECK(cells[2] == std::to_string(raw.size()));  // bytes, for paging
      // raw for the leading rows within the prefetch budget, NULL from the first that is not.
      acc += raw.size();
      cut = cut || acc > prefetch;
      CHECK(null_raw == cut);
      if (!null_raw) CHECK(cells[3] == raw);
    }
    CHECK(got == expect);

    const auto count = nostr::plan_count({f}, now);
    REQUIRE(count.ok());
    REQUIRE(db.run_one(count.value(), out, err));
    CHECK(out.substr(4 * 5) == std::to_string(total_matching));
    ++compared;
    nonempty += expect.empty() ? 0 : 1;
  }
  CHECK(compared == 300);
  CHECK(nonempty > 100);
}

TEST_CASE("replaceable events: newest wins, equal created_at keeps the lowest id") {
  nostr::test::SqliteDb db(schema_path());
  simdjson::dom::parser p;
  const std::string pk(64, 'b');
  auto store = [&](const std::string& id, uint64_t t, uint32_t kind, const std::string& d) {
    const std::string tags = d.empty() ? "[]" : "[[\"d\",\"" + d + "\"]]";
    const std::string json = "{\"id\":\"" + id + "\",\"pubkey\":\"" + pk + "\",\"created_at\":" + std::to_string(t) +
                             ",\"kind\":" + std::to_string(kind) + ",\"tags\":" + tags +
                             ",\"content\":\"\",\"sig\":\"" + std::string(128, 'c') + "\"}";
    auto e = nostr::Event::parse(p, json, {});
    REQUIRE(e.ok());
    const auto plan = nostr::plan_store_batch({nostr::plan_store(e.value())});
    std::string out, err;
    REQUIRE(db.run_batch(plan.stmts, out, err));
    // Replaceable kinds use their own insert; the batch decodes its outcome.
    REQUIRE_FALSE(plan.merged[0]);
    std::vector<nostr::ResultSet> rs;
    REQUIRE(nostr::parse_results(out, rs));
    const auto outcome = plan.outcomes(&rs).at(0);
    REQUIRE(outcome.has_value());
    return *outcome;
  };
  auto ids_of_kind = [&](uint32_t kind) {
    std::string out, err;
    REQUIRE(db.run_one({"SELECT group_concat(id) FROM (SELECT id FROM events WHERE kind = ? ORDER BY id)",
                        {nostr::SqlParam::of(static_cast<int64_t>(kind))}},
                       out, err));
    uint32_t len;
    std::memcpy(&len, out.data() + 16, 4);
    return len == 0xffffffffu ? std::string() : out.substr(20, len);
  };
  const std::string id1(64, '1'), id2(64, '2'), id3(64, '3'), id9(64, '9');
  using O = nostr::StoreOutcome;
  CHECK(store(id2, 100, 0, "") == O::stored);
  CHECK(store(id2, 100, 0, "") == O::duplicate);
  CHECK(store(id3, 100, 0, "") == O::superseded);  // equal time, higher id loses
  CHECK(store(id1, 100, 0, "") == O::stored);      // equal time, lower id wins
  CHECK(ids_of_kind(0) == id1);
  CHECK(store(id9, 99, 0, "") == O::superseded);   // older loses
  CHECK(store(id9, 101, 0, "") == O::stored);      // newer wins
  CHECK(ids_of_kind(0) == id9);
  // Addressable: one per d tag.
  CHECK(store(id1, 5, 30023, "a") == O::stored);
  CHECK(store(id2, 5, 30023, "b") == O::stored);
  CHECK(store(id3, 6, 30023, "a") == O::stored);
  CHECK(ids_of_kind(30023) == id2 + "," + id3);
  // Tag rows of replaced events are gone too.
  std::string out, err;
  REQUIRE(db.run_one({"SELECT COUNT(*) FROM tags WHERE event_id NOT IN (SELECT id FROM events)", {}}, out, err));
  CHECK(out.back() == '0');
}
