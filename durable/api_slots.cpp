// The HTTP API's call slots (durable/api_slots.h).
#include "durable/api_slots.h"

namespace nostr::durable {

ApiSlots::Admit ApiSlots::admit(const std::string& key, Call& call, uint64_t now) {
  auto a = addresses_.find(key);
  if (a == addresses_.end()) {
    if (addresses_.size() >= kMaxAddresses) {
      // Forget the idle address used longest ago (its buckets refill: it was idle).
      auto idle = addresses_.end();
      for (auto it = addresses_.begin(); it != addresses_.end(); ++it) {
        if (it->second.active == 0 && it->second.waiting.empty() &&
            (idle == addresses_.end() || it->second.last_used < idle->second.last_used))
          idle = it;
      }
      if (idle == addresses_.end()) return Admit::full;
      addresses_.erase(idle);
    }
    a = addresses_.emplace(key, Address{}).first;
  }
  Address& addr = a->second;
  addr.last_used = now;
  if (running_ < kMaxCalls && addr.active < kMaxCallsPerAddress && addr.waiting.empty())
    return Admit::start;
  // No slot for this address now: wait in its queue, started in turn.
  if (addr.waiting.size() >= kMaxWaitingPerAddress ||
      waiting_bytes_ + call.frame.size() > kMaxWaitingBytes)
    return Admit::address_full;
  if (addr.waiting.empty()) turns_.push_back(key);
  waiting_bytes_ += call.frame.size();
  addr.waiting.push_back(std::move(call));
  return Admit::waiting;
}

const ConnBuckets& ApiSlots::started(const std::string& key, ConnId conn) {
  Address& addr = addresses_[key];
  ++addr.active;
  ++running_;
  conn_address_[conn] = key;
  return addr.buckets;
}

void ApiSlots::ended(ConnId conn, const ConnBuckets* buckets, uint64_t now) {
  auto k = conn_address_.find(conn);
  if (k == conn_address_.end()) return;
  if (running_ > 0) --running_;
  if (auto a = addresses_.find(k->second); a != addresses_.end()) {
    if (buckets) a->second.buckets = *buckets;
    if (a->second.active > 0) --a->second.active;
    a->second.last_used = now;
  }
  conn_address_.erase(k);
}

std::optional<std::pair<std::string, ApiSlots::Call>> ApiSlots::next() {
  // Round-robin: each address with waiting calls gets the next free slot in
  // turn, so one address's backlog never delays another's call for long.
  size_t skipped = 0;
  while (running_ < kMaxCalls && !turns_.empty() && skipped < turns_.size()) {
    std::string key = std::move(turns_.front());
    turns_.pop_front();
    Address& addr = addresses_[key];
    if (addr.waiting.empty()) continue;
    if (addr.active >= kMaxCallsPerAddress) {
      turns_.push_back(std::move(key));
      ++skipped;
      continue;
    }
    Call call = std::move(addr.waiting.front());
    addr.waiting.pop_front();
    waiting_bytes_ -= call.frame.size();
    if (!addr.waiting.empty()) turns_.push_back(key);
    return std::pair{std::move(key), std::move(call)};
  }
  return std::nullopt;
}

}  // namespace nostr::durable
