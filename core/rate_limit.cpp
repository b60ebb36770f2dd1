#include "core/rate_limit.h"

#include <algorithm>

namespace nostr {
namespace {

uint64_t level(const Bucket& b, const RateLimit& l, uint64_t now) {
  const uint64_t cap = uint64_t{l.burst} * 1000;
  if (!b.used) return cap;
  const uint64_t elapsed = now > b.at ? now - b.at : 0;
  // per_minute tokens a minute = per_minute * 1000 / 60 milli-tokens a second.
  const uint64_t refill = elapsed >= 86400 ? cap : elapsed * l.per_minute * 1000 / 60;
  return std::min(cap, b.milli + refill);
}

}  // namespace

bool take_token(Bucket& b, const RateLimit& l, uint64_t now) {
  if (l.per_minute == 0) return true;
  const uint64_t have = level(b, l, now);
  b.used = true;
  b.at = now;
  if (have < 1000) {
    b.milli = have;
    return false;
  }
  b.milli = have - 1000;
  return true;
}

void give_token(Bucket& b, const RateLimit& l, uint64_t now) {
  if (l.per_minute == 0 || !b.used) return;
  b.milli = std::min(uint64_t{l.burst} * 1000, level(b, l, now) + 1000);
  b.at = now;
}

bool bucket_full(const Bucket& b, const RateLimit& l, uint64_t now) {
  return l.per_minute == 0 || level(b, l, now) >= uint64_t{l.burst} * 1000;
}

bool BucketMap::take(const std::string& key, const RateLimit& limit, uint64_t now) {
  if (limit.per_minute == 0) return true;
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (map_.size() >= capacity_) make_room(limit, now);
    it = map_.emplace(key, Bucket{}).first;
  }
  const bool ok = take_token(it->second, limit, now);
  dirty_.push_back(key);
  return ok;
}

void BucketMap::give(const std::string& key, const RateLimit& limit, uint64_t now) {
  auto it = map_.find(key);
  if (it == map_.end()) return;
  give_token(it->second, limit, now);
  dirty_.push_back(key);
}

void BucketMap::restore(const std::string& key, const Bucket& b) {
  if (map_.size() < capacity_) map_.emplace(key, b);
}

std::vector<std::pair<std::string, Bucket>> BucketMap::take_dirty() {
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  std::vector<std::pair<std::string, Bucket>> out;
  for (std::string& k : dirty_) {
    auto it = map_.find(k);
    if (it != map_.end()) out.emplace_back(std::move(k), it->second);
  }
  dirty_.clear();
  return out;
}

void BucketMap::make_room(const RateLimit& limit, uint64_t now) {
  // Refilled buckets hold nothing worth keeping.
  std::erase_if(map_, [&](const auto& kv) { return bucket_full(kv.second, limit, now); });
  if (map_.size() < capacity_) return;
  // Still full: forget the least recently charged half (amortised O(1) a take).
  std::vector<std::pair<uint64_t, std::string>> by_age;
  by_age.reserve(map_.size());
  for (const auto& [k, b] : map_) by_age.emplace_back(b.at, k);
  const size_t drop = by_age.size() / 2 + 1;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<ptrdiff_t>(drop - 1), by_age.end());
  for (size_t i = 0; i < drop; ++i) map_.erase(by_age[i].second);
}

}  // namespace nostr
