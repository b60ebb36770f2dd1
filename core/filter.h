// CompiledFilter: a NIP-01 filter validated and compiled once into sorted
// lookup sets. The same compiled filter drives the stored-event query plan and
// live matching of new events.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/limits.h"
#include "core/result.h"
#include "core/search.h"
#include "core/types.h"
#include "simdjson.h"

namespace nostr {

// A `#x` condition: some tag [x, v, ...] with v in `values` (sorted, unique).
struct TagCondition {
  char letter;
  std::vector<std::string> values;
};

// The distinct single-letter tag values of one event ([x, v, ...] with a
// one-character name x), sorted. Built once per event, so matching it against
// many filters costs O(min(values, tags) * log) per tag condition instead of a
// scan of every tag. Borrows the event: it must outlive the index.
class EventTagIndex {
 public:
  struct Entry {
    char letter;
    std::string_view value;
    friend bool operator<(const Entry& a, const Entry& b) {
      return a.letter != b.letter ? a.letter < b.letter : a.value < b.value;
    }
    friend bool operator==(const Entry& a, const Entry& b) { return a.letter == b.letter && a.value == b.value; }
  };
  // `searchable`: whether the search index holds e's content (its kind is
  // one of the relay's search kinds); a NIP-50 search matches only then.
  explicit EventTagIndex(const Event& e, bool searchable = true);
  const std::vector<Entry>& entries() const { return entries_; }
  // The content's search tokens (search_token_set), computed on first use so
  // many search filters cost one tokenization; empty if not searchable.
  const std::vector<std::string>& content_tokens() const;
  bool searchable() const { return searchable_; }
  using Iter = std::vector<Entry>::const_iterator;
  // The entries with `letter`, as a sorted range (O(1): ranges are precomputed).
  std::pair<Iter, Iter> values_of(char letter) const {
    const auto& r = ranges_[static_cast<unsigned char>(letter)];
    return {entries_.begin() + r.first, entries_.begin() + r.second};
  }

 private:
  std::vector<Entry> entries_;
  std::array<std::pair<uint32_t, uint32_t>, 256> ranges_{};  // per first byte: [begin, end)
  const Event* event_;
  bool searchable_;
  mutable bool tokenized_ = false;
  mutable std::vector<std::string> tokens_;
};

class CompiledFilter {
 public:
  // Validates and compiles a filter object. Returns bad_filter with a reason
  // fit for CLOSED "invalid: ..." on: non-object, unknown or duplicate keys,
  // ids/authors/#e/#p that are not 64 lowercase hex, kinds outside 0..65535,
  // non-integer since/until/limit, arrays longer than limits.max_filter_values.
  // An empty array is valid and matches nothing.
  [[nodiscard]] static Result<CompiledFilter> compile(simdjson::dom::element obj, const Limits& limits);

  // Parses and compiles standalone filter JSON (copies the input).
  [[nodiscard]] static Result<CompiledFilter> parse(simdjson::dom::parser& parser, std::string_view json,
                                                    const Limits& limits);

  // Returns true if `e` satisfies every condition (limit is ignored: it only
  // applies to stored queries). A search condition is checked as if e's kind
  // were indexed for search.
  bool matches(const Event& e) const;
  // Same, with the event's tag index (the fast path for live fan-out).
  bool matches(const Event& e, const EventTagIndex& tags) const;

  // Estimated heap bytes this filter holds once compiled and filed in a
  // subscription index (conservative for 32- and 64-bit builds): what the
  // relay's filter budgets count (docs/limits.md).
  size_t cost() const;
  // An upper bound of cost() for the filter `obj` would compile to (duplicates
  // counted), computed without allocating: lets a caller refuse an oversized
  // REQ before paying for compiling it.
  static size_t estimate_cost(simdjson::dom::element obj);

  // Absent conditions are nullopt; present ones are sorted and deduplicated.
  const std::optional<std::vector<EventId>>& ids() const { return ids_; }
  const std::optional<std::vector<Pubkey>>& authors() const { return authors_; }
  const std::optional<std::vector<uint16_t>>& kinds() const { return kinds_; }
  const std::vector<TagCondition>& tags() const { return tags_; }  // sorted by letter
  // The tag condition with the fewest values (the first such, by letter), the
  // most selective guess for an index to start from; nullptr if none. Used by
  // the read planner and the subscription index alike.
  const TagCondition* narrowest_tag() const {
    const TagCondition* best = nullptr;
    for (const auto& t : tags_) {
      if (!best || t.values.size() < best->values.size()) best = &t;
    }
    return best;
  }
  std::optional<uint64_t> since() const { return since_; }
  std::optional<uint64_t> until() const { return until_; }
  std::optional<uint64_t> limit() const { return limit_; }
  const std::optional<std::string>& search() const { return search_; }
  // The search condition, or nullptr if there is none or it has no plain
  // words (then it matches everything, NIP-50 extensions being ignored).
  const SearchQuery* search_query() const { return query_ && !query_->empty() ? &*query_ : nullptr; }

  // Returns min(limit or default_limit, max_limit): how many stored events to return.
  uint64_t effective_limit(const Limits& limits) const;

  // True if no event can ever match (an empty array condition, since > until).
  bool matches_nothing() const;

  // Returns the filter as canonical JSON (keys in a fixed order), such that
  // compile(parse(to_json())) yields an equal filter. Used to persist subscriptions.
  std::string to_json() const;

 private:
  CompiledFilter() = default;
  // The id, author, kind and time conditions (both matches() check them first).
  bool matches_fields(const Event& e) const;
  std::optional<std::vector<EventId>> ids_;
  std::optional<std::vector<Pubkey>> authors_;
  std::optional<std::vector<uint16_t>> kinds_;
  std::vector<TagCondition> tags_;
  std::optional<uint64_t> since_, until_, limit_;
  std::optional<std::string> search_;
  std::optional<SearchQuery> query_;
};

}  // namespace nostr
