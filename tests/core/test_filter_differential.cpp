// Differential test: CompiledFilter::matches against a deliberately naive
// reference matcher on random (event, filter) pairs from a fixed seed.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/filter.h"
#include "core/json_writer.h"
#include "../support/rng.h"

namespace {

using nostr::test::Rng;

std::string hex64(uint64_t seed) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, '0');
  Rng r{seed * 0x9E3779B97F4A7C15ULL + 1};
  for (char& c : s) c = kDigits[r.below(16)];
  return s;
}

struct RefEvent {
  std::string id, pubkey;
  uint64_t created_at;
  int kind;
  std::vector<std::vector<std::string>> tags;
  std::string content;
};

struct RefFilter {
  std::optional<std::vector<std::string>> ids, authors;
  std::optional<std::vector<int>> kinds;
  std::vector<std::pair<char, std::vector<std::string>>> tags;
  std::optional<uint64_t> since, until;
};

bool contains(const std::vector<std::string>& v, const std::string& x) {
  for (const auto& y : v) {
    if (y == x) return true;
  }
  return false;
}

// The reference: NIP-01 read literally, linear scans, no cleverness.
bool ref_matches(const RefFilter& f, const RefEvent& e) {
  if (f.ids && !contains(*f.ids, e.id)) return false;
  if (f.authors && !contains(*f.authors, e.pubkey)) return false;
  if (f.kinds) {
    bool any = false;
    for (int k : *f.kinds) any = any || k == e.kind;
    if (!any) return false;
  }
  if (f.since && e.created_at < *f.since) return false;
  if (f.until && e.created_at > *f.until) return false;
  for (const auto& [letter, values] : f.tags) {
    bool any = false;
    for (const auto& t : e.tags) {
      if (t.size() >= 2 && t[0] == std::string(1, letter) && contains(values, t[1])) any = true;
    }
    if (!any) return false;
  }
  return true;
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    nostr::append_json_string(out, v[i]);
  }
  return out + "]";
}

std::string to_json(const RefEvent& e) {
  std::string tags = "[";
  for (size_t i = 0; i < e.tags.size(); ++i) tags += (i ? "," : "") + json_list(e.tags[i]);
  tags += "]";
  std::string content;
  nostr::append_json_string(content, e.content);
  return "{\"id\":\"" + e.id + "\",\"pubkey\":\"" + e.pubkey + "\",\"created_at\":" +
         std::to_string(e.created_at) + ",\"kind\":" + std::to_string(e.kind) + ",\"tags\":" + tags +
         ",\"content\":" + content + ",\"sig\":\"" + std::string(128, '0') + "\"}";
}

std::string to_json(const RefFilter& f) {
  std::vector<std::string> parts;
  if (f.ids) parts.push_back("\"ids\":" + json_list(*f.ids));
  if (f.authors) parts.push_back("\"authors\":" + json_list(*f.authors));
  if (f.kinds) {
    std::string k = "\"kinds\":[";
    for (size_t i = 0; i < f.kinds->size(); ++i) k += (i ? "," : "") + std::to_string((*f.kinds)[i]);
    parts.push_back(k + "]");
  }
  for (const auto& [letter, values] : f.tags) parts.push_back(std::string("\"#") + letter + "\":" + json_list(values));
  if (f.since) parts.push_back("\"since\":" + std::to_string(*f.since));
  if (f.until) parts.push_back("\"until\":" + std::to_string(*f.until));
  std::string out = "{";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out + "}";
}

}  // namespace

TEST_CASE("CompiledFilter agrees with the naive matcher on 12,000 random pairs") {
  Rng rng{0x5eed0001};
  std::vector<std::string> ids, pubkeys, hex_values;
  for (uint64_t i = 0; i < 40; ++i) ids.push_back(hex64(i));
  for (uint64_t i = 0; i < 6; ++i) pubkeys.push_back(hex64(1000 + i));
  for (uint64_t i = 0; i < 6; ++i) hex_values.push_back(hex64(2000 + i));
  const std::vector<std::string> words = {"nostr", "Nostr", "a", "", "b\n", "\xf0\x9f\x98\x80", "x y"};
  const std::vector<int> kinds = {0, 1, 3, 7, 1000, 10002, 20001, 30023, 65535};
  // Every tag has a name: events with [] or [""] tags are invalid.
  const std::vector<std::string> tag_names = {"e", "p", "t", "d", "T", "ee", "expiration", "x"};

  auto tag_value = [&](const std::string& name) {
    return (name == "e" || name == "p") && rng.chance(80) ? rng.pick(hex_values) : rng.pick(words);
  };

  std::vector<RefEvent> events;
  for (int i = 0; i < 200; ++i) {
    RefEvent e{rng.pick(ids), rng.pick(pubkeys), 1000 + rng.below(100), rng.pick(kinds), {}, "c"};
    const size_t ntags = rng.below(5);
    for (size_t t = 0; t < ntags; ++t) {
      const std::string& name = rng.pick(tag_names);
      std::vector<std::string> tag{name};
      const size_t extra = rng.below(3);
      for (size_t k = 0; k < extra; ++k) tag.push_back(tag_value(name));
      e.tags.push_back(tag);
    }
    events.push_back(e);
  }

  std::vector<RefFilter> filters;
  for (int i = 0; i < 60; ++i) {
    RefFilter f;
    auto sample = [&](const std::vector<std::string>& pool) {
      std::vector<std::string> v;
      const size_t n = rng.below(4);  // 0 is allowed: matches nothing
      for (size_t k = 0; k < n; ++k) v.push_back(rng.pick(pool));
      return v;
    };
    if (rng.chance(20)) f.ids = sample(ids);
    if (rng.chance(35)) f.authors = sample(pubkeys);
    if (rng.chance(35)) {
      std::vector<int> k;
      const size_t n = 1 + rng.below(3);
      for (size_t j = 0; j < n; ++j) k.push_back(rng.pick(kinds));
      f.kinds = k;
    }
    if (rng.chance(30)) f.since = 1000 + rng.below(110);
    if (rng.chance(30)) f.until = 990 + rng.below(110);
    for (const char letter : {'e', 'p', 't', 'd', 'T'}) {
      if (!rng.chance(15)) continue;
      const std::string name(1, letter);
      std::vector<std::string> values;
      const size_t n = 1 + rng.below(3);
      for (size_t k = 0; k < n; ++k) {
        values.push_back((letter == 'e' || letter == 'p') ? rng.pick(hex_values) : rng.pick(words));
      }
      f.tags.emplace_back(letter, values);
    }
    filters.push_back(f);
  }

  simdjson::dom::parser parser;
  nostr::Limits limits;
  std::vector<nostr::Event> parsed_events;
  for (const auto& e : events) {
    auto r = nostr::Event::parse(parser, to_json(e), limits);
    REQUIRE(r.ok());
    parsed_events.push_back(std::move(r).value());
  }
  size_t pairs = 0, matched = 0;
  for (const auto& f : filters) {
    const std::string json = to_json(f);
    CAPTURE(json);
    auto cf = nostr::CompiledFilter::parse(parser, json, limits);
    REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? "" : cf.error().text));
    auto round = nostr::CompiledFilter::parse(parser, cf->to_json(), limits);
    REQUIRE(round.ok());
    for (size_t i = 0; i < events.size(); ++i) {
      const bool expect = ref_matches(f, events[i]);
      CAPTURE(to_json(events[i]));
      CHECK(cf->matches(parsed_events[i]) == expect);
      CHECK(round->matches(parsed_events[i]) == expect);
      // The live fan-out path: the same answer through the event's tag index.
      CHECK(cf->matches(parsed_events[i], nostr::EventTagIndex(parsed_events[i])) == expect);
      ++pairs;
      matched += expect ? 1 : 0;
    }
  }
  CHECK(pairs >= 10000);
  // The generator must exercise both outcomes substantially.
  CHECK(matched > pairs / 50);
  CHECK(matched < pairs - pairs / 50);
}
