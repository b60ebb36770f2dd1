#pragma once

#include <cstddef>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "core/event.h"

namespace nostr::durable {

// A bounded set of recently stored event ids with their signatures: the cheap
// duplicate check that runs before the ~100 µs signature verification. A hit is
// only a duplicate if the event hashes to its id and carries the stored
// signature (or another valid one): a forged copy never gets OK true.
class RecentIds {
 public:
  explicit RecentIds(size_t capacity) : capacity_(capacity) {}
  // The stored signature of `id`, or nullptr. Valid until the next insert/erase.
  const Signature* find(const EventId& id) const {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : &it->second;
  }
  void insert(const EventId& id, const Signature& sig) {
    if (!map_.emplace(id, sig).second) return;
    order_.push_back(id);
    if (order_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }
  // Forgets an id (its event was deleted); the FIFO slot ages out normally.
  void erase(const EventId& id) { map_.erase(id); }
  // Forgets every id (events were deleted by author, NIP-62).
  void clear() {
    map_.clear();
    order_.clear();
  }
  size_t size() const { return map_.size(); }

 private:
  struct Hash {
    size_t operator()(const EventId& id) const {
      size_t h;
      std::memcpy(&h, id.data(), sizeof h);  // ids are sha256 output: uniform
      return h;
    }
  };
  size_t capacity_;
  std::unordered_map<EventId, Signature, Hash> map_;
  std::deque<EventId> order_;
};

}  // namespace nostr::durable
