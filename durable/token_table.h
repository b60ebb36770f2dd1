// TokenTable: what the engine waits for from its host, by token. A token is
// handed out with each action that completes later (store batches, local SQL
// reads, archive writes) and comes back with the completion.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>

namespace nostr::durable {

template <class Op>
class TokenTable {
 public:
  // Keeps `op`; returns its token (never 0: 0 means "no result wanted").
  uint32_t add(Op op) {
    if (next_ == 0) next_ = 1;
    const uint32_t token = next_++;
    ops_.emplace(token, std::move(op));
    return token;
  }
  // The operation waiting under `token`, or nullptr.
  Op* find(uint32_t token) {
    auto it = ops_.find(token);
    return it == ops_.end() ? nullptr : &it->second;
  }
  // Removes and returns the operation under `token`, which must exist.
  Op take(uint32_t token) {
    auto it = ops_.find(token);
    Op op = std::move(it->second);
    ops_.erase(it);
    return op;
  }
  size_t size() const { return ops_.size(); }

 private:
  std::unordered_map<uint32_t, Op> ops_;
  uint32_t next_ = 1;
};

}  // namespace nostr::durable
