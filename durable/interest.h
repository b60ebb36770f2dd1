// What one relay object's live subscriptions can match, compact enough to
// publish to the other objects (D1 table relay_objects) so that an event
// accepted elsewhere is forwarded only to objects that may want it.
//
// The summary holds the keys the object's SubscriptionIndex files its filters
// under (an id, else an author, else one tag value, else a kind) in a Bloom
// filter, or "everything" when a filter has none of them. An event that
// matches a filter looks up one of that filter's keys, so may_match() is never
// false for an event some subscription matches: false positives cost a
// forward the receiver drops, never a missed delivery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "durable/subscription_index.h"

namespace nostr::durable {

class InterestSummary {
 public:
  // Matches nothing (an object without subscriptions).
  InterestSummary() = default;
  // The summary of everything `index` can match. Size: 16 bits per key,
  // between 1,024 bits and kMaxBits (past that, more false positives).
  static InterestSummary of(const SubscriptionIndex& index);
  // Adds one index key ("*": everything): a subscription added since of().
  // Returns false when the filter holds more than 16 bits per key no longer
  // (and is below kMaxBits): rebuild it with of(), which sizes it anew.
  bool add_key(std::string_view key);
  // False only if no filter summarised can match `e`.
  bool may_match(const Event& e) const;
  // The same for an event's keys (event_keys), computed once when one event
  // is tested against several summaries.
  bool may_match(const std::vector<std::string>& keys) const;
  static std::vector<std::string> event_keys(const Event& e);
  // True if every event `o` may match, this may match too (so publishing `o`
  // when this is published adds nothing).
  bool covers(const InterestSummary& o) const;
  bool matches_nothing() const { return !all_ && keys_ == 0; }
  bool matches_everything() const { return all_; }

  // Text form for D1: "*" (everything), "" (nothing), or "<bits>:<keys>:<hex>".
  std::string encode() const;
  // Returns the summary, or nullopt for text encode() does not produce.
  static std::optional<InterestSummary> decode(std::string_view text);

  static constexpr uint32_t kMinBits = 1024;
  static constexpr uint32_t kMaxBits = 131072;  // 16 KiB, 32 KiB as hex
  static constexpr uint32_t kHashes = 4;

 private:
  void add(std::string_view key);
  static uint32_t bits_for(size_t keys);
  bool has(std::string_view key) const;
  bool all_ = false;
  uint32_t keys_ = 0;
  std::vector<uint64_t> words_;  // bits_ = words_.size() * 64, a power of two
};

}  // namespace nostr::durable
