// Token buckets (config RateLimit: per_minute refill, burst capacity), in
// thousandths of a token so that slow rates refill smoothly with whole-second
// clocks. Pure: time is an argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config.h"

namespace nostr {

struct Bucket {
  uint64_t milli = 0;  // tokens x 1000
  uint64_t at = 0;     // when `milli` was computed
  bool used = false;   // false: never charged (treated as full)
};

// Spends one token at `now` if there is one; returns whether there was.
// A limit with per_minute == 0 always allows and leaves the bucket alone.
[[nodiscard]] bool take_token(Bucket& b, const RateLimit& limit, uint64_t now);
// Gives back one token taken earlier (capped at the burst): a charge that
// turned out to be owed by no one (an exempt author, once verified).
void give_token(Bucket& b, const RateLimit& limit, uint64_t now);
// Whether the bucket has refilled completely by `now` (then it can be forgotten).
bool bucket_full(const Bucket& b, const RateLimit& limit, uint64_t now);

// Buckets by key (an address or a pubkey) with a bounded size: when full,
// entries that have refilled are forgotten, then the least recently charged.
// Changes since the last take_dirty() are tracked for persistence.
class BucketMap {
 public:
  explicit BucketMap(size_t capacity) : capacity_(capacity) {}
  [[nodiscard]] bool take(const std::string& key, const RateLimit& limit, uint64_t now);
  // Gives one token back to `key`'s bucket, if it has one (give_token).
  void give(const std::string& key, const RateLimit& limit, uint64_t now);
  // A persisted bucket (at wake); ignored when already known.
  void restore(const std::string& key, const Bucket& b);
  // Returns the keys charged since the last call with their buckets.
  std::vector<std::pair<std::string, Bucket>> take_dirty();
  bool dirty() const { return !dirty_.empty(); }
  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  void make_room(const RateLimit& limit, uint64_t now);
  size_t capacity_;
  std::unordered_map<std::string, Bucket> map_;
  std::vector<std::string> dirty_;
};

}  // namespace nostr
