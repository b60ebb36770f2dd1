#include "durable/subscription_index.h"

#include <algorithm>

namespace nostr::durable {
namespace {

// Key spaces: 'i' id, 'a' author, 't' <letter> value, 'k' kind, '*' catch-all.
std::string id_key(const EventId& id) {
  return "i" + std::string(reinterpret_cast<const char*>(id.data()), 32);
}
std::string author_key(const Pubkey& pk) {
  return "a" + std::string(reinterpret_cast<const char*>(pk.data()), 32);
}
// Writes the key of tag [letter, value] into `out` (reusing its buffer).
void tag_key_into(std::string& out, char letter, std::string_view value) {
  out.assign(1, 't');
  out += letter;
  out += value;
}
std::string tag_key(char letter, std::string_view value) {
  std::string k;
  tag_key_into(k, letter, value);
  return k;
}
std::string kind_key(uint32_t kind) { return "k" + std::to_string(kind); }

}  // namespace

void SubscriptionIndex::add(SubHandle h, const std::vector<CompiledFilter>& filters) {
  std::vector<std::string>& keys = filed_[h];
  auto file = [&](std::string key, const CompiledFilter* f) {
    buckets_[key].push_back(Ref{h, f});
    keys.push_back(std::move(key));
  };
  for (const CompiledFilter& f : filters) {
    if (f.matches_nothing()) continue;
    if (f.ids()) {
      for (const auto& id : *f.ids()) file(id_key(id), &f);
    } else if (f.authors()) {
      for (const auto& pk : *f.authors()) file(author_key(pk), &f);
    } else if (const TagCondition* best = f.narrowest_tag()) {
      for (const auto& v : best->values) file(tag_key(best->letter, v), &f);
    } else if (f.kinds()) {
      for (const uint16_t k : *f.kinds()) file(kind_key(k), &f);
    } else {
      file("*", &f);
    }
  }
}

void SubscriptionIndex::remove(SubHandle h) {
  auto it = filed_.find(h);
  if (it == filed_.end()) return;
  for (const std::string& key : it->second) {
    auto b = buckets_.find(key);
    if (b == buckets_.end()) continue;
    auto& refs = b->second;
    refs.erase(
        std::remove_if(refs.begin(), refs.end(), [h](const Ref& r) { return r.handle == h; }),
        refs.end());
    if (refs.empty()) buckets_.erase(b);
  }
  filed_.erase(it);
}

void SubscriptionIndex::match(const Event& e, std::vector<SubHandle>& out, bool searchable) const {
  // Each distinct key of the event is looked up once (2000 equal tags are one
  // lookup), each candidate filter is evaluated once, and evaluation uses the
  // event's sorted tag index: the work per event is bounded by the number of
  // filed filters (which the relay's filter budgets bound), never by
  // tags x filters x tags.
  const EventTagIndex tags(e, searchable);
  std::vector<const Ref*> candidates;
  auto collect = [&](const std::string& key) {
    auto b = buckets_.find(key);
    if (b == buckets_.end()) return;
    for (const Ref& r : b->second) candidates.push_back(&r);
  };
  collect(id_key(e.id()));
  collect(author_key(e.pubkey()));
  std::string key;  // reused: no allocation per tag
  for (const EventTagIndex::Entry& t : tags.entries()) {
    tag_key_into(key, t.letter, t.value);
    collect(key);
  }
  collect(kind_key(e.kind()));
  collect("*");
  // A filter filed under several keys the event hits is a candidate once.
  std::sort(candidates.begin(), candidates.end(),
            [](const Ref* a, const Ref* b) { return a->filter < b->filter; });
  const auto first = static_cast<std::ptrdiff_t>(out.size());
  const CompiledFilter* prev = nullptr;
  last_evaluations_ = 0;
  for (const Ref* r : candidates) {
    if (r->filter == prev) continue;
    prev = r->filter;
    ++last_evaluations_;
    if (r->filter->matches(e, tags)) out.push_back(r->handle);
  }
  // A subscription may match through several filters: report it once.
  std::sort(out.begin() + first, out.end());
  out.erase(std::unique(out.begin() + first, out.end()), out.end());
}

void SubscriptionIndex::for_each_event_key(const Event& e,
                                           const std::function<void(std::string_view)>& f) {
  f(id_key(e.id()));
  f(author_key(e.pubkey()));
  const EventTagIndex tags(e, /*searchable=*/false);
  std::string key;
  for (const EventTagIndex::Entry& t : tags.entries()) {
    tag_key_into(key, t.letter, t.value);
    f(key);
  }
  f(kind_key(e.kind()));
  f("*");
}

}  // namespace nostr::durable
