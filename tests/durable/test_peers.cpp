// Several relay objects as a component (durable/peers.h), alone: no engine,
// no SimHost, no SQLite. The other objects' rows are built by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "durable/peers.h"

using nostr::EventId;
using nostr::RelayConfig;
using nostr::ResultSet;
using nostr::durable::Forward;
using nostr::durable::InterestSummary;
using nostr::durable::Metrics;
using nostr::durable::Outbox;
using nostr::durable::Peers;
using nostr::durable::SubscriptionIndex;

namespace {

std::string hex64(char c) { return std::string(64, c); }

nostr::Event note(simdjson::dom::parser& p, char id, uint32_t kind) {
  const std::string json = R"({"id":")" + hex64(id) + R"(","pubkey":")" + hex64('b') +
                           R"(","created_at":1000,"kind":)" + std::to_string(kind) +
                           R"(,"tags":[],"content":"","sig":")" + std::string(128, '0') + "\"}";
  auto e = nostr::Event::parse(p, json, nostr::Limits{});
  REQUIRE(e.ok());
  return std::move(e).value();
}

// Owns the cells a ResultSet's views point into.
struct Rows {
  std::vector<std::string> cells;
  ResultSet rs;
  explicit Rows(std::vector<std::string> c) : cells(std::move(c)) {
    rs.cols = 3;
    rs.rows = static_cast<uint32_t>(cells.size() / 3);
    for (const std::string& s : cells) rs.cells.emplace_back(false, s);
  }
};

struct Subs {
  simdjson::dom::parser p;
  std::vector<std::vector<nostr::CompiledFilter>> filters;
  SubscriptionIndex index;
  Subs() { filters.reserve(16); }
  nostr::durable::SubHandle add(const std::string& json) {
    auto f = nostr::CompiledFilter::parse(p, json, nostr::Limits{});
    REQUIRE(f.ok());
    filters.emplace_back();
    filters.back().push_back(std::move(f).value());
    index.add(filters.size(), filters.back());
    return filters.size();
  }
};

RelayConfig several() {
  RelayConfig c;
  c.shards = 2;
  c.interest_shrink_seconds = 5;
  return c;
}

}  // namespace

TEST_CASE("Peers: one object (no name, or one configured) does nothing") {
  RelayConfig one;
  one.regions = false;  // and one shard
  Metrics m;
  Peers peers(one, m);
  Subs subs;
  CHECK_FALSE(peers.set_name("eu-0", subs.index));  // the configuration has one object
  CHECK_FALSE(peers.active());
  CHECK(peers.name_or_default() == "relay");
  std::vector<nostr::SqlStatement> stmts;
  peers.on_subscription_added(subs.add(R"({"kinds":[1]})"), subs.index);
  CHECK(peers.publish_if_needed(stmts, 100) == 0);
  CHECK(stmts.empty());
  simdjson::dom::parser p;
  peers.forward(note(p, 'a', 1));
  Outbox out;
  peers.flush(out);
  CHECK(out.empty());
}

TEST_CASE("Peers: a subscription's interest is published once, in the batch that needs it") {
  const RelayConfig config = several();
  Metrics m;
  Peers peers(config, m);
  Subs subs;
  REQUIRE(peers.set_name("eu-0", subs.index));  // the other objects' summaries are read first
  CHECK(peers.name_or_default() == "eu-0");
  CHECK_FALSE(peers.set_name("eu-0", subs.index));  // same name: nothing new
  peers.on_subscription_added(subs.add(R"({"kinds":[1]})"), subs.index);
  std::vector<nostr::SqlStatement> stmts;
  const int64_t v1 = peers.publish_if_needed(stmts, 100);
  CHECK(v1 >= (int64_t{100} << 20));
  CHECK(stmts.size() == 1);
  // Not committed yet: a second REQ publishes again (harmless), newer version.
  const int64_t v2 = peers.publish_if_needed(stmts, 100);
  CHECK(v2 > v1);
  peers.on_published(v2, /*ok=*/true);
  CHECK(peers.publish_if_needed(stmts, 101) == 0);  // covered
  // A failed publication is not taken as published.
  peers.on_subscription_added(subs.add(R"({"authors":[")" + hex64('c') + R"("]})"), subs.index);
  const int64_t v3 = peers.publish_if_needed(stmts, 102);
  REQUIRE(v3 > v2);
  peers.on_published(v3, /*ok=*/false);
  CHECK(peers.publish_if_needed(stmts, 103) > v3);
  CHECK(m.interest_publications == 4);
}

TEST_CASE("Peers: events go only to objects whose summary may match, one Forward per object") {
  const RelayConfig config = several();
  Metrics m;
  Peers peers(config, m);
  Subs subs;
  REQUIRE(peers.set_name("eu-0", subs.index));
  Subs theirs;
  theirs.add(R"({"kinds":[7]})");
  const std::string kind7 = InterestSummary::of(theirs.index).encode();
  Rows rows({"eu-1", "5", "*", "us-0", "5", kind7, "us-1", "5", "not a summary"});
  peers.on_summaries(rows.rs);
  simdjson::dom::parser p;
  const nostr::Event a = note(p, 'a', 1);
  peers.forward(a);
  peers.forward(note(p, 'd', 7));
  Outbox out;
  peers.flush(out);
  std::vector<Forward> fw;
  for (auto& act : out.take())
    if (auto* f = std::get_if<Forward>(&act)) fw.push_back(*f);
  REQUIRE(fw.size() == 2);
  CHECK(fw[0].peer == "eu-1");  // everything: both events, one line each
  CHECK(std::count(fw[0].events.begin(), fw[0].events.end(), '\n') == 2);
  CHECK(fw[1].peer == "us-0");  // kind 7 only
  CHECK(std::count(fw[1].events.begin(), fw[1].events.end(), '\n') == 1);
  CHECK(fw[1].events.find(hex64('d')) != std::string::npos);
  CHECK(m.forwarded_events == 3);
  CHECK(m.forward_requests == 2);
  // An older version of a summary does not replace a newer one.
  Rows older({"eu-1", "4", ""});
  peers.on_summaries(older.rs);
  peers.forward(a);
  peers.flush(out);
  CHECK(out.take().size() == 1);
}

TEST_CASE("Peers: after subscriptions end, a smaller summary goes interest_shrink_seconds later") {
  const RelayConfig config = several();
  Metrics m;
  Peers peers(config, m);
  Subs subs;
  REQUIRE(peers.set_name("eu-0", subs.index));
  const auto h = subs.add(R"({"kinds":[1]})");
  peers.on_subscription_added(h, subs.index);
  // At the name, what an earlier life published is unknown: the first check publishes.
  auto first = peers.on_timer(0, subs.index);
  REQUIRE(first);
  CHECK(first->first.eose_for == 0);
  std::vector<nostr::SqlStatement> stmts;
  CHECK(peers.publish_if_needed(stmts, 1) == 0);  // taken as published at once
  subs.index.remove(h);
  peers.on_subscription_removed(10);
  CHECK_FALSE(peers.on_timer(14, subs.index));
  auto smaller = peers.on_timer(15, subs.index);
  REQUIRE(smaller);
  CHECK(smaller->first.version > first->first.version);
  CHECK_FALSE(peers.on_timer(100, subs.index));  // not armed again until another removal
}

TEST_CASE("Peers: recent answered events are remembered for kAnsweredWindow, old ones never") {
  const RelayConfig config = several();
  Metrics m;
  Peers peers(config, m);
  Subs subs;
  REQUIRE(peers.set_name("eu-0", subs.index));
  struct Row {
    uint64_t created_at;
    EventId id;
  };
  const EventId recent = *EventId::from_hex(hex64('1'));
  const EventId old = *EventId::from_hex(hex64('2'));
  const std::vector<Row> rows{{995, recent}, {900, old}};
  peers.remember_answered(rows, 7, 1000);
  CHECK(peers.answered(recent, 7));
  CHECK_FALSE(peers.answered(recent, 8));
  CHECK_FALSE(peers.answered(old, 7));
  peers.expire(1000 + Peers::kAnsweredWindow);
  CHECK(peers.answered(recent, 7));
  peers.expire(1001 + Peers::kAnsweredWindow);
  CHECK_FALSE(peers.answered(recent, 7));
  CHECK(peers.answered_size() == 0);
}
