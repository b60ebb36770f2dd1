// CompiledFilter: a NIP-01 filter validated and compiled once into sorted
// lookup sets. The same compiled filter drives the stored-event query plan and
// live matching of new events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/limits.h"
#include "core/result.h"
#include "core/types.h"
#include "simdjson.h"

namespace nostr {

// A `#x` condition: some tag [x, v, ...] with v in `values` (sorted, unique).
struct TagCondition {
  char letter;
  std::vector<std::string> values;
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
  // applies to stored queries).
  bool matches(const Event& e) const;

  // Absent conditions are nullopt; present ones are sorted and deduplicated.
  const std::optional<std::vector<EventId>>& ids() const { return ids_; }
  const std::optional<std::vector<Pubkey>>& authors() const { return authors_; }
  const std::optional<std::vector<uint16_t>>& kinds() const { return kinds_; }
  const std::vector<TagCondition>& tags() const { return tags_; }  // sorted by letter
  std::optional<uint64_t> since() const { return since_; }
  std::optional<uint64_t> until() const { return until_; }
  std::optional<uint64_t> limit() const { return limit_; }
  const std::optional<std::string>& search() const { return search_; }

  // Returns min(limit or default_limit, max_limit): how many stored events to return.
  uint64_t effective_limit(const Limits& limits) const;

  // True if no event can ever match (an empty array condition, since > until).
  bool matches_nothing() const;

  // Returns the filter as canonical JSON (keys in a fixed order), such that
  // compile(parse(to_json())) yields an equal filter. Used to persist subscriptions.
  std::string to_json() const;

 private:
  CompiledFilter() = default;
  std::optional<std::vector<EventId>> ids_;
  std::optional<std::vector<Pubkey>> authors_;
  std::optional<std::vector<uint16_t>> kinds_;
  std::vector<TagCondition> tags_;
  std::optional<uint64_t> since_, until_, limit_;
  std::optional<std::string> search_;
};

// Returns true if `content` contains every plain word of a NIP-50 query
// (ASCII case-insensitive); "key:value" extension tokens are ignored.
bool search_matches(std::string_view query, std::string_view content);

}  // namespace nostr
