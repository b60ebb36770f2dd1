// InterestSummary: never false for an event some summarised filter matches
// (differential against the filters themselves), few false positives, exact
// text round trip, and `covers` as the relay uses it.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "../support/rng.h"
#include "durable/interest.h"

using nostr::durable::InterestSummary;
using nostr::durable::SubscriptionIndex;
using nostr::test::Rng;

namespace {

std::string hex(uint64_t i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064llx", static_cast<unsigned long long>(i));
  return buf;
}

struct Filters {
  simdjson::dom::parser p;
  nostr::Limits limits;
  std::vector<std::unique_ptr<std::vector<nostr::CompiledFilter>>> subs;
  SubscriptionIndex index;
  void add(const std::string& json) {
    auto f = nostr::CompiledFilter::parse(p, json, limits);
    REQUIRE(f.ok());
    subs.push_back(std::make_unique<std::vector<nostr::CompiledFilter>>());
    subs.back()->push_back(std::move(f).value());
    index.add(subs.size(), *subs.back());
  }
  bool any_matches(const nostr::Event& e) const {
    for (const auto& s : subs) {
      for (const auto& f : *s) {
        if (f.matches(e)) return true;
      }
    }
    return false;
  }
};

nostr::Event event(simdjson::dom::parser& p, uint64_t id, uint64_t author, uint32_t kind, const std::string& t,
                   uint64_t e_ref) {
  const std::string json = "{\"id\":\"" + hex(id) + "\",\"pubkey\":\"" + hex(author) + "\",\"created_at\":1000,\"kind\":" +
                           std::to_string(kind) + ",\"tags\":[[\"t\",\"" + t + "\"],[\"e\",\"" + hex(e_ref) +
                           "\"]],\"content\":\"\",\"sig\":\"" + std::string(128, '0') + "\"}";
  auto e = nostr::Event::parse(p, json, nostr::Limits{});
  REQUIRE(e.ok());
  return std::move(e).value();
}

}  // namespace

TEST_CASE("interest summary: no false negatives against the filters; few false positives; exact round trip") {
  Rng rng{7};
  Filters fs;
  // Follow lists, threads, hashtags, kinds, ids: the shapes clients send.
  for (int s = 0; s < 400; ++s) {
    switch (rng.below(5)) {
      case 0: {
        std::string authors;
        for (int i = 0; i < 20; ++i) authors += (i ? ",\"" : "\"") + hex(1000 + rng.below(5000)) + "\"";
        fs.add("{\"authors\":[" + authors + "],\"kinds\":[1,6]}");
        break;
      }
      case 1: fs.add("{\"#e\":[\"" + hex(200000 + rng.below(3000)) + "\"]}"); break;
      case 2: fs.add("{\"#t\":[\"tag" + std::to_string(rng.below(2000)) + "\"],\"kinds\":[1]}"); break;
      case 3: fs.add("{\"kinds\":[" + std::to_string(30000 + rng.below(500)) + "]}"); break;
      default: fs.add("{\"ids\":[\"" + hex(900000 + rng.below(5000)) + "\"]}"); break;
    }
  }
  const InterestSummary sum = InterestSummary::of(fs.index);
  CHECK_FALSE(sum.matches_everything());
  CHECK_FALSE(sum.matches_nothing());
  const auto copy = InterestSummary::decode(sum.encode());
  REQUIRE(copy.has_value());
  CHECK(copy->encode() == sum.encode());

  size_t matched = 0, false_positives = 0, unmatched = 0;
  for (int i = 0; i < 20000; ++i) {
    const nostr::Event e = event(fs.p, 900000 + rng.below(8000), 1000 + rng.below(8000),
                                 rng.below(4) == 0 ? 30000 + static_cast<uint32_t>(rng.below(1000)) : 1,
                                 "tag" + std::to_string(rng.below(4000)), 200000 + rng.below(6000));
    const bool wanted = fs.any_matches(e);
    CAPTURE(e.raw());
    if (wanted) {
      ++matched;
      REQUIRE(sum.may_match(e));  // never a missed forward
      REQUIRE(copy->may_match(e));
    } else {
      ++unmatched;
      if (sum.may_match(e)) ++false_positives;
    }
    CHECK(sum.may_match(e) == copy->may_match(e));
  }
  CHECK(matched > 1000);
  // Events no filter wants but whose key is in the summary are true "key hits"
  // (an author followed, other kind): count only Bloom noise loosely.
  MESSAGE("matched ", matched, ", not matched ", unmatched, ", of which forwarded anyway ", false_positives);
  CHECK(false_positives < unmatched / 2);
}

TEST_CASE("interest summary: nothing, everything, covers, and refused text") {
  Filters none;
  CHECK(InterestSummary::of(none.index).matches_nothing());
  CHECK(InterestSummary::of(none.index).encode().empty());
  Filters all;
  all.add("{\"since\":5}");  // no key: catch-all
  const InterestSummary everything = InterestSummary::of(all.index);
  CHECK(everything.matches_everything());
  CHECK(everything.encode() == "*");
  simdjson::dom::parser p;
  CHECK(everything.may_match(event(p, 1, 2, 3, "x", 4)));
  CHECK_FALSE(InterestSummary().may_match(event(p, 1, 2, 3, "x", 4)));

  Filters small, big;
  small.add("{\"#t\":[\"a\"]}");
  big.add("{\"#t\":[\"a\"]}");
  big.add("{\"#t\":[\"b\"]}");
  const InterestSummary s = InterestSummary::of(small.index), b = InterestSummary::of(big.index);
  CHECK(b.covers(s));
  CHECK_FALSE(s.covers(b));
  CHECK(everything.covers(b));
  CHECK_FALSE(b.covers(everything));
  CHECK(s.covers(InterestSummary()));

  for (const char* bad : {"x", "1024:1:", "1000:1:00", "1024:0:" , "1024:1:zz", "99999999999:1:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(InterestSummary::decode(bad).has_value());
  }
}

TEST_CASE("interest summary kept up to date key by key (as the relay does) never misses an event") {
  Rng rng{11};
  Filters fs;
  InterestSummary inc;
  size_t rebuilds = 0;
  for (int s = 0; s < 600; ++s) {
    if (rng.below(2) == 0) {
      fs.add("{\"#t\":[\"tag" + std::to_string(rng.below(3000)) + "\",\"tag" + std::to_string(rng.below(3000)) + "\"]}");
    } else {
      fs.add("{\"authors\":[\"" + hex(1000 + rng.below(3000)) + "\"]}");
    }
    bool fits = true;
    fs.index.for_each_key_of(fs.subs.size(), [&](std::string_view k) { fits = inc.add_key(k) && fits; });
    if (!fits) {
      inc = InterestSummary::of(fs.index);
      ++rebuilds;
    }
  }
  CHECK(rebuilds >= 2);   // it grew...
  CHECK(rebuilds <= 10);  // ...by doubling, not at every subscription
  size_t matched = 0;
  for (int i = 0; i < 5000; ++i) {
    const nostr::Event e = event(fs.p, 1, 1000 + rng.below(6000), 1, "tag" + std::to_string(rng.below(6000)), 2);
    if (fs.any_matches(e)) {
      ++matched;
      REQUIRE(inc.may_match(e));
    }
  }
  CHECK(matched > 500);
  inc.add_key("*");
  CHECK(inc.matches_everything());
}
