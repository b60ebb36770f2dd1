#include "core/filter.h"

#include <algorithm>

#include "core/json_writer.h"
#include "core/text.h"

namespace nostr {
namespace {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;

Reject bad(std::string text) { return reject(Code::bad_filter, std::move(text)); }

// Parses an array of 64-hex strings into sorted unique values.
template <typename T>
Result<std::vector<T>> hex_array(element v, std::string_view field, const Limits& limits) {
  array arr;
  if (v.get_array().get(arr) != SUCCESS) return bad(std::string(field) + " must be an array");
  std::vector<T> out;
  for (element item : arr) {
    if (out.size() >= limits.max_filter_values) {
      return bad(std::string(field) + " has more than " + std::to_string(limits.max_filter_values) + " values");
    }
    std::string_view s;
    std::optional<T> parsed;
    if (item.get_string().get(s) != SUCCESS || !(parsed = T::from_hex(s))) {
      return bad(std::string(field) + " must contain 64-character lowercase hex strings");
    }
    out.push_back(*parsed);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  out.shrink_to_fit();  // held for the subscription's life: no spare capacity
  return out;
}

bool is_tag_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

Result<CompiledFilter> CompiledFilter::compile(element el, const Limits& limits) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != SUCCESS) return bad("filter must be a JSON object");
  CompiledFilter f;
  bool seen_since = false, seen_until = false, seen_limit = false;
  for (simdjson::dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    if (key == "ids") {
      if (f.ids_) return bad("duplicate key ids");
      auto r = hex_array<EventId>(kv.value, "ids", limits);
      if (!r) return r.error();
      f.ids_ = std::move(r).value();
    } else if (key == "authors") {
      if (f.authors_) return bad("duplicate key authors");
      auto r = hex_array<Pubkey>(kv.value, "authors", limits);
      if (!r) return r.error();
      f.authors_ = std::move(r).value();
    } else if (key == "kinds") {
      if (f.kinds_) return bad("duplicate key kinds");
      array arr;
      if (kv.value.get_array().get(arr) != SUCCESS) return bad("kinds must be an array");
      std::vector<uint16_t> kinds;
      for (element item : arr) {
        if (kinds.size() >= limits.max_filter_values) return bad("kinds has too many values");
        const auto k = json_timestamp(item);
        if (!k || *k > 65535) return bad("kinds must contain integers between 0 and 65535");
        kinds.push_back(static_cast<uint16_t>(*k));
      }
      std::sort(kinds.begin(), kinds.end());
      kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
      kinds.shrink_to_fit();
      f.kinds_ = std::move(kinds);
    } else if (key == "since" || key == "until" || key == "limit") {
      bool& seen = key == "since" ? seen_since : key == "until" ? seen_until : seen_limit;
      if (seen) return bad("duplicate key " + std::string(key));
      seen = true;
      const auto v = json_timestamp(kv.value);
      if (!v) return bad(std::string(key) + " must be a non-negative integer");
      (key == "since" ? f.since_ : key == "until" ? f.until_ : f.limit_) = *v;
    } else if (key == "search") {
      if (f.search_) return bad("duplicate key search");
      std::string_view s;
      if (kv.value.get_string().get(s) != SUCCESS) return bad("search must be a string");
      auto q = SearchQuery::compile(s);
      if (!q) return q.error();
      f.search_ = std::string(s);
      f.query_ = std::move(q).value();
    } else if (key.size() == 2 && key[0] == '#' && is_tag_letter(key[1])) {
      const char letter = key[1];
      for (const auto& t : f.tags_) {
        if (t.letter == letter) return bad("duplicate key " + std::string(key));
      }
      TagCondition cond{letter, {}};
      if (letter == 'e' || letter == 'p') {
        auto r = hex_array<EventId>(kv.value, key, limits);
        if (!r) return r.error();
        for (const auto& v : r.value()) cond.values.push_back(v.hex());
      } else {
        array arr;
        if (kv.value.get_array().get(arr) != SUCCESS) return bad(std::string(key) + " must be an array");
        for (element item : arr) {
          if (cond.values.size() >= limits.max_filter_values) return bad(std::string(key) + " has too many values");
          std::string_view s;
          if (item.get_string().get(s) != SUCCESS) return bad(std::string(key) + " must contain strings");
          cond.values.emplace_back(s);
        }
        std::sort(cond.values.begin(), cond.values.end());
        cond.values.erase(std::unique(cond.values.begin(), cond.values.end()), cond.values.end());
        cond.values.shrink_to_fit();
      }
      f.tags_.push_back(std::move(cond));
    } else {
      const std::string shown(utf8_prefix(key, 32));
      return bad("unsupported filter key " + shown);
    }
  }
  std::sort(f.tags_.begin(), f.tags_.end(),
            [](const TagCondition& a, const TagCondition& b) { return a.letter < b.letter; });
  return f;
}

Result<CompiledFilter> CompiledFilter::parse(simdjson::dom::parser& parser, std::string_view json,
                                             const Limits& limits) {
  element el;
  if (parser.parse(json.data(), json.size(), true).get(el) != SUCCESS) return bad("filter is not valid JSON");
  return compile(el, limits);
}

bool CompiledFilter::matches_fields(const Event& e) const {
  if (ids_ && !std::binary_search(ids_->begin(), ids_->end(), e.id())) return false;
  if (authors_ && !std::binary_search(authors_->begin(), authors_->end(), e.pubkey())) return false;
  if (kinds_ && !std::binary_search(kinds_->begin(), kinds_->end(), static_cast<uint16_t>(e.kind()))) {
    return false;
  }
  if (since_ && e.created_at() < *since_) return false;
  if (until_ && e.created_at() > *until_) return false;
  return true;
}

bool CompiledFilter::matches(const Event& e) const {
  if (!matches_fields(e)) return false;
  for (const TagCondition& cond : tags_) {
    bool found = false;
    for (size_t i = 0; i < e.tag_count() && !found; ++i) {
      const TagView t = e.tag(i);
      if (t.size() >= 2 && t[0].size() == 1 && t[0][0] == cond.letter) {
        found = std::binary_search(cond.values.begin(), cond.values.end(), t[1]);
      }
    }
    if (!found) return false;
  }
  if (const SearchQuery* q = search_query(); q && !q->matches(search_token_set(e.content()))) return false;
  return true;
}

EventTagIndex::EventTagIndex(const Event& e, bool searchable) : event_(&e), searchable_(searchable) {
  entries_.reserve(e.tag_count());
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView t = e.tag(i);
    if (t.size() >= 2 && t[0].size() == 1) entries_.push_back(Entry{t[0][0], t[1]});
  }
  std::sort(entries_.begin(), entries_.end());
  entries_.erase(std::unique(entries_.begin(), entries_.end()), entries_.end());
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    auto& r = ranges_[static_cast<unsigned char>(entries_[i].letter)];
    if (r.first == r.second) r.first = i;
    r.second = i + 1;
  }
}

bool CompiledFilter::matches(const Event& e, const EventTagIndex& index) const {
  if (!matches_fields(e)) return false;
  for (const TagCondition& cond : tags_) {
    const auto [lo, hi] = index.values_of(cond.letter);
    if (lo == hi) return false;
    // Walk the smaller side, binary-search the larger: O(min * log max).
    bool found = false;
    if (cond.values.size() <= static_cast<size_t>(hi - lo)) {
      for (const auto& v : cond.values) {
        if (std::binary_search(lo, hi, EventTagIndex::Entry{cond.letter, v})) {
          found = true;
          break;
        }
      }
    } else {
      for (auto it = lo; it != hi && !found; ++it) {
        found = std::binary_search(cond.values.begin(), cond.values.end(), it->value);
      }
    }
    if (!found) return false;
  }
  if (const SearchQuery* q = search_query(); q && (!index.searchable() || !q->matches(index.content_tokens()))) {
    return false;
  }
  return true;
}

const std::vector<std::string>& EventTagIndex::content_tokens() const {
  if (!tokenized_ && searchable_) tokens_ = search_token_set(event_->content());
  tokenized_ = true;
  return tokens_;
}

namespace {
// Calibrated against the heap measured natively (tests/durable/
// test_relay_limits.cpp, "the filter cost estimate covers the heap..."):
// per value, the value itself plus (when the index files the filter under
// it) a bucket key, the handle's copy of that key and a bucket entry.
constexpr size_t kPerFilter = 512;
constexpr size_t kPerHexValue = 512;
constexpr size_t kPerKind = 3 * 6 + 160;
constexpr size_t kPerTag = 64;
size_t tag_value_cost(size_t len) { return 3 * (len + 2) + 160; }
}  // namespace

size_t CompiledFilter::cost() const {
  // A search holds its text and its folded tokens (at most as long, plus a
  // string header each).
  size_t n = kPerFilter + (search_ ? 2 * search_->size() + 48 + 40 * query_->tokens().size() : 0);
  if (ids_) n += ids_->size() * kPerHexValue;
  if (authors_) n += authors_->size() * kPerHexValue;
  if (kinds_) n += kinds_->size() * kPerKind;
  for (const auto& t : tags_) {
    n += kPerTag;
    for (const auto& v : t.values) n += tag_value_cost(v.size());
  }
  return n;
}

size_t CompiledFilter::estimate_cost(simdjson::dom::element el) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != SUCCESS) return kPerFilter;
  size_t n = kPerFilter;
  for (simdjson::dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    array arr;
    std::string_view str;
    if (key == "search" && kv.value.get_string().get(str) == SUCCESS) n += 2 * str.size() + 48 + 40 * kMaxSearchWords;
    if (kv.value.get_array().get(arr) != SUCCESS) continue;
    if (key == "ids" || key == "authors") {
      n += arr.size() * kPerHexValue;
    } else if (key == "kinds") {
      n += arr.size() * kPerKind;
    } else {
      n += kPerTag;
      for (element item : arr) n += tag_value_cost(item.get_string().get(str) == SUCCESS ? str.size() : 0);
    }
  }
  return n;
}

uint64_t CompiledFilter::effective_limit(const Limits& limits) const {
  const uint64_t want = limit_ ? *limit_ : limits.default_limit;
  return std::min<uint64_t>(want, limits.max_limit);
}

bool CompiledFilter::matches_nothing() const {
  if (ids_ && ids_->empty()) return true;
  if (authors_ && authors_->empty()) return true;
  if (kinds_ && kinds_->empty()) return true;
  for (const auto& t : tags_) {
    if (t.values.empty()) return true;
  }
  return since_ && until_ && *since_ > *until_;
}

std::string CompiledFilter::to_json() const {
  JsonWriter w;
  w.begin_object();
  auto hex_list = [&w](std::string_view k, const auto& values) {
    w.key(k).begin_array();
    for (const auto& v : values) w.string(v.hex());
    w.end_array();
  };
  if (ids_) hex_list("ids", *ids_);
  if (authors_) hex_list("authors", *authors_);
  if (kinds_) {
    w.key("kinds").begin_array();
    for (const auto kind : *kinds_) w.uint(kind);
    w.end_array();
  }
  for (const auto& t : tags_) {
    const char name[2] = {'#', t.letter};
    w.key(std::string_view(name, 2)).begin_array();
    for (const auto& v : t.values) w.string(v);
    w.end_array();
  }
  if (since_) w.key("since").uint(*since_);
  if (until_) w.key("until").uint(*until_);
  if (limit_) w.key("limit").uint(*limit_);
  if (search_) w.key("search").string(*search_);
  w.end_object();
  return w.take();
}

}  // namespace nostr
