// NIP-50: the search tokenizer (core/search.h) against SQLite's own FTS5
// unicode61 tokenizer, the one D1's index uses (migrations/0006_search.sql).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <set>
#include <string>
#include <vector>

#include "core/filter.h"
#include "core/search.h"
#include "tests/support/rng.h"

namespace {

std::vector<std::string> tokens_of(std::string_view text) {
  std::vector<std::string> out;
  nostr::search_tokens(text, [&out](std::string&& t) { out.push_back(std::move(t)); });
  return out;
}

// An in-memory SQLite with the index's exact table definition.
struct Fts {
  sqlite3* db = nullptr;
  Fts() {
    sqlite3_open(":memory:", &db);
    REQUIRE(sqlite3_exec(db,
                         "CREATE VIRTUAL TABLE events_fts USING fts5(content, tokenize = "
                         "'unicode61 remove_diacritics 2');"
                         "CREATE VIRTUAL TABLE vocab USING fts5vocab(events_fts, instance);",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~Fts() { sqlite3_close(db); }
  void insert(int64_t rowid, const std::string& text) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO events_fts (rowid, content) VALUES (?, ?)", -1, &st,
                       nullptr);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text(st, 2, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
  }
  // The document's tokens in order, as FTS5 indexed them.
  std::vector<std::string> indexed(int64_t rowid) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT term FROM vocab WHERE doc = ? ORDER BY offset", -1, &st,
                       nullptr);
    sqlite3_bind_int64(st, 1, rowid);
    std::vector<std::string> out;
    while (sqlite3_step(st) == SQLITE_ROW)
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return out;
  }
  std::set<int64_t> match(const std::string& expr) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT rowid FROM events_fts WHERE events_fts MATCH ?", -1, &st,
                               nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, expr.data(), static_cast<int>(expr.size()), SQLITE_TRANSIENT);
    std::set<int64_t> out;
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.insert(sqlite3_column_int64(st, 0));
    CHECK(rc == SQLITE_DONE);
    sqlite3_finalize(st);
    return out;
  }
};

// Words in many scripts, cases and forms: precomposed and combining accents,
// Cyrillic and Greek capitals, CJK, emoji, full-width forms, digits.
const std::vector<std::string> kWords = {
    "hello",  "Hello",  "HELLO",   "nostr",   "Nostr",         "café",     "CAFÉ",   "cafe\u0301",
    "naïve",  "NAÏVE",  "École",   "ecole",   "Привет",        "привет",   "ПРИВЕТ", "мир",
    "Ελλάδα", "ελλαδα", "東京",    "タワー",  "서울",          "🤙",     "zap⚡",   "Ｆｕｌｌ",
    "full",   "straße", "STRASSE", "ǅemal",   "İstanbul",      "istanbul", "ﬁne",    "x²",
    "٣٤",     "1984",   "a-b",     "o'clock", "ñandú",         "Ærø",      "Łódź",   "lodz",
    "\u00a0", "ａｂｃ", "#nostr",  "@npub",   "e\u0301\u0301", "ß",        "ẞ",
};

std::string random_text(nostr::test::Rng& rng) {
  static const std::vector<std::string> seps = {" ", "  ", ", ", ".", "!\n",    "\t",
                                                "—", "·",  "/",  "'", "\u3000", ""};
  std::string out;
  const size_t n = 1 + rng.below(8);
  for (size_t i = 0; i < n; ++i) {
    out += rng.pick(kWords);
    out += rng.pick(seps);
  }
  return out;
}

}  // namespace

TEST_CASE("search tokens: case folded, diacritics removed, any script; punctuation separates") {
  CHECK(tokens_of("Hello, Nostr-World! Café ÉCOLE naïve Привет 東京") ==
        std::vector<std::string>{"hello", "nostr", "world", "cafe", "ecole", "naive", "привет",
                                 "東京"});
  CHECK(tokens_of("").empty());
  CHECK(tokens_of("  ...  ").empty());
  CHECK(tokens_of("e\u0301") ==
        std::vector<std::string>{"e"});  // a combining accent is dropped, not a separator
}

TEST_CASE("search tokens agree with SQLite FTS5 unicode61 on a mixed-script corpus") {
  Fts fts;
  nostr::test::Rng rng{0x5eed5eedULL};
  std::vector<std::string> docs;
  for (int i = 0; i < 400; ++i) {
    docs.push_back(random_text(rng));
    fts.insert(i + 1, docs.back());
  }
  // Every word alone, too.
  for (size_t i = 0; i < kWords.size(); ++i) {
    docs.push_back(kWords[i]);
    fts.insert(static_cast<int64_t>(docs.size()), kWords[i]);
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    INFO("document: " << docs[i]);
    CHECK(tokens_of(docs[i]) == fts.indexed(static_cast<int64_t>(i + 1)));
  }
  // Queries: the live matcher selects exactly what the index returns.
  size_t nonempty = 0;
  for (int i = 0; i < 300; ++i) {
    std::string text = rng.pick(kWords);
    if (rng.chance(50)) text += " " + rng.pick(kWords);
    if (rng.chance(20)) text += " lang:en";  // an extension: ignored
    auto q = nostr::SearchQuery::compile(text);
    REQUIRE(q.ok());
    if (q->empty()) continue;
    std::set<int64_t> live;
    for (size_t d = 0; d < docs.size(); ++d) {
      if (q->matches(nostr::search_token_set(docs[d]))) live.insert(static_cast<int64_t>(d + 1));
    }
    INFO("query: " << text << " -> " << q->fts_expression());
    CHECK(live == fts.match(q->fts_expression()));
    nonempty += live.empty() ? 0 : 1;
  }
  CHECK(nonempty > 100);  // the corpus exercises matches, not only misses
}

TEST_CASE("search queries: extensions ignored, words bounded, empty matches everything") {
  auto q = nostr::SearchQuery::compile("Nostr include:spam  relays");
  REQUIRE(q.ok());
  CHECK(q->tokens() == std::vector<std::string>{"nostr", "relays"});
  CHECK(q->fts_expression() == "\"nostr\" \"relays\"");
  CHECK(q->matches(nostr::search_token_set("The best RELAYS for nostr")));
  CHECK_FALSE(q->matches(nostr::search_token_set("nostr only")));
  auto only_ext = nostr::SearchQuery::compile("language:en nsfw:false");
  REQUIRE(only_ext.ok());
  CHECK(only_ext->empty());
  std::string many;
  for (int i = 0; i <= static_cast<int>(nostr::kMaxSearchWords); ++i)
    many += "w" + std::to_string(i) + " ";
  auto too_many = nostr::SearchQuery::compile(many);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().wire_message().find("invalid: search has 17 words") == 0);
}

TEST_CASE("a filter's search matches live only where the index holds the content") {
  simdjson::dom::parser p;
  nostr::Limits limits;
  auto f = nostr::CompiledFilter::parse(p, R"({"search":"nostr"})", limits);
  REQUIRE(f.ok());
  REQUIRE(f->search_query() != nullptr);
  auto none = nostr::CompiledFilter::parse(p, R"({"search":"domain:x.com"})", limits);
  REQUIRE(none.ok());
  CHECK(none->search_query() == nullptr);  // only extensions: no condition
}
