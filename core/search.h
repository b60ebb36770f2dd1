// NIP-50 search: a filter's `search` text as the words it requires, tokenized
// exactly as the D1 index (migrations/0006_search.sql: FTS5 `unicode61
// remove_diacritics 2`) tokenizes content, so an event matches live
// (SearchQuery::matches) exactly when the index would return it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace nostr {

// At most this many distinct words in one search: each is an index lookup.
inline constexpr size_t kMaxSearchWords = 16;

// Calls emit(std::string&& token) for each token of `text` in order: maximal
// runs of token characters, each code point folded (lower case, diacritics
// removed) as unicode61 folds it; runs that fold to nothing are skipped.
// `text` must be valid UTF-8 (event content and filter strings are).
template <typename F>
void search_tokens(std::string_view text, F&& emit);

// Returns the distinct tokens of `text`, sorted.
std::vector<std::string> search_token_set(std::string_view text);

class SearchQuery {
 public:
  // Compiles a NIP-50 query. Words of the form key:value are extensions: this
  // relay supports none, and ignores them (NIP-50). Fails (bad_filter) with
  // more than kMaxSearchWords distinct words.
  [[nodiscard]] static Result<SearchQuery> compile(std::string_view text);

  // No plain words (empty, or only extensions): matches every event.
  bool empty() const { return tokens_.empty(); }
  // Distinct tokens, sorted.
  const std::vector<std::string>& tokens() const { return tokens_; }

  // The FTS5 MATCH expression: every token as a quoted phrase (all required).
  // Asserts !empty().
  std::string fts_expression() const;

  // True if every token occurs in `content_tokens` (a search_token_set).
  bool matches(const std::vector<std::string>& content_tokens) const;

 private:
  std::vector<std::string> tokens_;
};

// ---- implementation of search_tokens ----
namespace search_detail {
// Folds one code point: returns the folded code point, 0 for a token
// character dropped (a diacritic), or -1 for a separator.
long fold(uint32_t cp);
void append_utf8(std::string& out, uint32_t cp);
}  // namespace search_detail

template <typename F>
void search_tokens(std::string_view text, F&& emit) {
  std::string token;
  bool in_token = false;
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    uint32_t cp = b;
    size_t len = 1;
    if (b >= 0xF0 && i + 3 < text.size()) {
      cp = (b & 0x07u) << 18 | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 12 |
           (static_cast<unsigned char>(text[i + 2]) & 0x3Fu) << 6 |
           (static_cast<unsigned char>(text[i + 3]) & 0x3Fu);
      len = 4;
    } else if (b >= 0xE0 && i + 2 < text.size()) {
      cp = (b & 0x0Fu) << 12 | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6 |
           (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
      len = 3;
    } else if (b >= 0xC0 && i + 1 < text.size()) {
      cp = (b & 0x1Fu) << 6 | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      len = 2;
    }
    i += len;
    const long f = search_detail::fold(cp);
    if (f < 0) {
      if (in_token && !token.empty()) emit(std::move(token));
      token.clear();
      in_token = false;
      continue;
    }
    in_token = true;
    if (f > 0) search_detail::append_utf8(token, static_cast<uint32_t>(f));
  }
  if (in_token && !token.empty()) emit(std::move(token));
}

}  // namespace nostr
