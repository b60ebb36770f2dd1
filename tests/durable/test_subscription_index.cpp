// SubscriptionIndex against brute force: the candidates it reports must be
// exactly the subscriptions with a matching filter, each once.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "durable/subscription_index.h"
#include "../support/rng.h"

namespace {

using nostr::test::Rng;

std::string hex(uint64_t i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064llx", static_cast<unsigned long long>(i));
  return buf;
}

}  // namespace

TEST_CASE("SubscriptionIndex reports exactly the matching subscriptions") {
  Rng rng{42};
  simdjson::dom::parser p;
  nostr::Limits limits;
  std::vector<std::unique_ptr<std::vector<nostr::CompiledFilter>>> subs;
  nostr::durable::SubscriptionIndex index;
  auto pick = [&](size_t n) { return std::to_string(rng.below(n)); };
  for (int s = 0; s < 300; ++s) {
    auto filters = std::make_unique<std::vector<nostr::CompiledFilter>>();
    const size_t nf = 1 + rng.below(3);
    for (size_t i = 0; i < nf; ++i) {
      std::string json;
      switch (rng.below(6)) {
        case 0: json = "{\"ids\":[\"" + hex(rng.below(30)) + "\"]}"; break;
        case 1: json = "{\"authors\":[\"" + hex(100 + rng.below(8)) + "\",\"" + hex(100 + rng.below(8)) + "\"],\"kinds\":[" + pick(3) + "]}"; break;
        case 2: json = "{\"#t\":[\"w" + pick(5) + "\"],\"kinds\":[" + pick(3) + "]}"; break;
        case 3: json = "{\"kinds\":[" + pick(3) + "," + pick(3) + "]}"; break;
        case 4: json = "{\"since\":" + std::to_string(1000 + rng.below(20)) + "}"; break;
        default: json = "{\"#e\":[\"" + hex(200 + rng.below(5)) + "\"],\"#t\":[\"w" + pick(5) + "\",\"w" + pick(5) + "\"]}"; break;
      }
      auto f = nostr::CompiledFilter::parse(p, json, limits);
      REQUIRE(f.ok());
      filters->push_back(std::move(f).value());
    }
    index.add(static_cast<nostr::durable::SubHandle>(s), *filters);
    subs.push_back(std::move(filters));
  }
  // Remove a third of them.
  std::vector<bool> removed(subs.size());
  for (size_t s = 0; s < subs.size(); s += 3) {
    index.remove(s);
    removed[s] = true;
  }
  size_t hits = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string json = "{\"id\":\"" + hex(rng.below(30)) + "\",\"pubkey\":\"" + hex(100 + rng.below(8)) +
                             "\",\"created_at\":" + std::to_string(1000 + rng.below(20)) + ",\"kind\":" + pick(3) +
                             ",\"tags\":[[\"t\",\"w" + pick(5) + "\"],[\"e\",\"" + hex(200 + rng.below(5)) +
                             "\"],[\"t\",\"w" + pick(5) + "\"]],\"content\":\"\",\"sig\":\"" + std::string(128, '0') + "\"}";
    auto e = nostr::Event::parse(p, json, limits);
    REQUIRE(e.ok());
    std::vector<nostr::durable::SubHandle> got;
    index.match(e.value(), got);
    std::vector<nostr::durable::SubHandle> expect;
    for (size_t s = 0; s < subs.size(); ++s) {
      if (removed[s]) continue;
      if (std::any_of(subs[s]->begin(), subs[s]->end(), [&](const auto& f) { return f.matches(e.value()); })) {
        expect.push_back(s);
      }
    }
    std::sort(got.begin(), got.end());
    CHECK(got == expect);
    hits += expect.size();
  }
  CHECK(hits > 1000);
}
