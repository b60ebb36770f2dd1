#include "durable/interest.h"

#include <algorithm>

#include "core/hex.h"

namespace nostr::durable {
namespace {

// FNV-1a 64 then a splitmix64 finaliser: two independent-enough hashes for
// double hashing (h1 + i * h2). Keys hold raw 32-byte ids and pubkeys and
// tag values: well mixed already, and this is not an adversarial setting
// (a collision costs one extra forward).
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

InterestSummary InterestSummary::of(const SubscriptionIndex& index) {
  InterestSummary s;
  size_t keys = 0;
  index.for_each_key([&](std::string_view k) {
    if (k == "*") s.all_ = true;
    ++keys;
  });
  if (s.all_ || keys == 0) return s;
  s.words_.assign(bits_for(keys) / 64, 0);
  index.for_each_key([&](std::string_view k) { s.add(k); });
  return s;
}

uint32_t InterestSummary::bits_for(size_t keys) {
  uint32_t bits = kMinBits;
  while (bits < keys * 16 && bits < kMaxBits) bits *= 2;
  return bits;
}

bool InterestSummary::add_key(std::string_view key) {
  if (all_) return true;
  if (key == "*") {
    all_ = true;
    words_.clear();
    keys_ = 0;
    return true;
  }
  if (words_.empty()) words_.assign(kMinBits / 64, 0);
  add(key);
  const size_t bits = words_.size() * 64;
  return bits >= kMaxBits || static_cast<size_t>(keys_) * 16 <= bits;
}

void InterestSummary::add(std::string_view key) {
  const uint64_t h1 = fnv1a(key), h2 = mix(h1) | 1;
  const uint64_t mask = words_.size() * 64 - 1;
  for (uint32_t i = 0; i < kHashes; ++i) {
    const uint64_t bit = (h1 + i * h2) & mask;
    words_[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  ++keys_;
}

bool InterestSummary::has(std::string_view key) const {
  const uint64_t h1 = fnv1a(key), h2 = mix(h1) | 1;
  const uint64_t mask = words_.size() * 64 - 1;
  for (uint32_t i = 0; i < kHashes; ++i) {
    const uint64_t bit = (h1 + i * h2) & mask;
    if (!(words_[bit / 64] & (uint64_t{1} << (bit % 64)))) return false;
  }
  return true;
}

std::vector<std::string> InterestSummary::event_keys(const Event& e) {
  std::vector<std::string> keys;
  SubscriptionIndex::for_each_event_key(e, [&](std::string_view k) {
    if (k != "*") keys.emplace_back(k);
  });
  return keys;
}

bool InterestSummary::may_match(const Event& e) const { return may_match(event_keys(e)); }

bool InterestSummary::may_match(const std::vector<std::string>& keys) const {
  if (all_) return true;
  if (keys_ == 0) return false;
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return has(k); });
}

bool InterestSummary::covers(const InterestSummary& o) const {
  if (all_ || o.matches_nothing()) return true;
  if (o.all_ || matches_nothing() || words_.size() != o.words_.size()) return false;
  for (size_t i = 0; i < words_.size(); ++i) {
    if ((o.words_[i] & ~words_[i]) != 0) return false;
  }
  return true;
}

std::string InterestSummary::encode() const {
  if (all_) return "*";
  if (keys_ == 0) return "";
  std::vector<uint8_t> bytes(words_.size() * 8);
  for (size_t i = 0; i < words_.size(); ++i) {
    for (int b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<uint8_t>(words_[i] >> (8 * b));
  }
  return std::to_string(words_.size() * 64) + ":" + std::to_string(keys_) + ":" +
         to_hex(bytes.data(), bytes.size());
}

std::optional<InterestSummary> InterestSummary::decode(std::string_view text) {
  InterestSummary s;
  if (text == "*") {
    s.all_ = true;
    return s;
  }
  if (text.empty()) return s;
  const size_t c1 = text.find(':'), c2 = c1 == std::string_view::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  uint64_t bits = 0, keys = 0;
  for (const char c : text.substr(0, c1)) {
    if (c < '0' || c > '9' || bits > kMaxBits) return std::nullopt;
    bits = bits * 10 + static_cast<uint64_t>(c - '0');
  }
  for (const char c : text.substr(c1 + 1, c2 - c1 - 1)) {
    if (c < '0' || c > '9' || keys > UINT32_MAX / 10) return std::nullopt;
    keys = keys * 10 + static_cast<uint64_t>(c - '0');
  }
  const std::string_view hex = text.substr(c2 + 1);
  if (bits < kMinBits || bits > kMaxBits || (bits & (bits - 1)) != 0 || keys == 0 ||
      hex.size() != bits / 4)
    return std::nullopt;
  std::vector<uint8_t> bytes(bits / 8);
  if (!decode_lower_hex(hex, bytes.data(), bytes.size())) return std::nullopt;
  s.words_.assign(bits / 64, 0);
  for (size_t i = 0; i < s.words_.size(); ++i) {
    for (int b = 0; b < 8; ++b) s.words_[i] |= uint64_t{bytes[i * 8 + b]} << (8 * b);
  }
  s.keys_ = static_cast<uint32_t>(keys);
  return s;
}

}  // namespace nostr::durable
