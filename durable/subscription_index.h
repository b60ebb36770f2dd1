// SubscriptionIndex: finds the live subscriptions a new event can match at a
// cost proportional to those candidates, not to all subscriptions.
//
// Each filter is filed under ONE key, its most selective condition: an id, else
// an author, else one tag value, else a kind; filters with none of these go to a
// catch-all list. A new event looks up its own id, pubkey, each single-letter
// tag value and its kind, then runs the full match on the candidates only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/filter.h"

namespace nostr::durable {

using SubHandle = uint64_t;

class SubscriptionIndex {
 public:
  // Files every filter of `filters` for handle `h`. The filters are borrowed and
  // must stay alive (unmoved) until remove(h).
  void add(SubHandle h, const std::vector<CompiledFilter>& filters);
  // Unfiles handle `h` (no-op if unknown).
  void remove(SubHandle h);

  // Appends to `out` each handle with at least one filter matching `e`, once.
  // `searchable`: e's kind is indexed for search (NIP-50 filters match only then).
  void match(const Event& e, std::vector<SubHandle>& out, bool searchable = true) const;

  size_t size() const { return filed_.size(); }
  // Calls f(key) for every key a filter is filed under ("*" for catch-all
  // filters): what this index can match, for summaries (durable/interest.h).
  template <class F>
  void for_each_key(F&& f) const {
    for (const auto& [key, refs] : buckets_) f(std::string_view(key));
  }
  // Calls f(key) for every key handle `h`'s filters are filed under.
  template <class F>
  void for_each_key_of(SubHandle h, F&& f) const {
    if (auto it = filed_.find(h); it != filed_.end()) {
      for (const std::string& k : it->second) f(std::string_view(k));
    }
  }
  // Calls f(key) for every key event `e` looks up: a filter that matches `e`
  // is filed under one of them (ids, author, single-letter tag values, kind, "*").
  static void for_each_event_key(const Event& e, const std::function<void(std::string_view)>& f);
  // Filters the last match() evaluated (each candidate counts once): what one
  // event cost, for tests and benchmarks.
  size_t last_evaluations() const { return last_evaluations_; }

 private:
  struct Ref {
    SubHandle handle;
    const CompiledFilter* filter;
  };
  std::unordered_map<std::string, std::vector<Ref>> buckets_;      // key -> refs
  std::unordered_map<SubHandle, std::vector<std::string>> filed_;  // handle -> its keys
  mutable size_t last_evaluations_ = 0;
};

}  // namespace nostr::durable
