// Several relay objects sharing one D1 (durable/relay_peers.cpp): summaries
// published with the stored query that needs them, read with every store
// batch; events forwarded only where a subscription may want them, delivered
// once per subscription, whichever D1 batch commits first.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;
using nostr::test::SqliteDb;

namespace {

nostr::RelayConfig several() {
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  c.regions = true;
  return c;
}
std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
std::string ok_true(const nostr::test::SignedEvent& e) { return "[\"OK\",\"" + e.id + "\",true,\"\"]"; }
std::string delivered(const std::string& sub, const nostr::test::SignedEvent& e) {
  return "[\"EVENT\",\"" + sub + "\"," + e.json + "]";
}
// Hands `from`'s Forward actions for `to_name` to `to`; returns how many.
size_t route(SimHost& from, SimHost& to, const std::string& to_name) {
  size_t n = 0;
  auto fw = std::move(from.forwards);
  from.forwards.clear();
  for (auto& [peer, events] : fw) {
    if (peer != to_name) continue;
    ++n;
    to.deliver(events);
  }
  return n;
}

struct Pair {
  SqliteDb d1{std::string(NOSTR_SOURCE_DIR) + "/schema.sql"};
  SimHost a{several(), d1, "relay:weur:0"};
  SimHost b{several(), d1, "relay:apac:0"};
  Pair() {
    a.connect(1);
    b.connect(2);
    a.take(1);
    b.take(2);
  }
};

}  // namespace

TEST_CASE("several objects: an event stored on one reaches a matching subscription on another, once") {
  Pair p;
  Signer alice(1);
  p.b.send(2, "[\"REQ\",\"s\",{\"#t\":[\"edge\"]}]");
  CHECK(p.b.take(2) == std::vector<std::string>{"[\"EOSE\",\"s\"]"});
  const auto e = alice.sign(1, 1700000000, {{"t", "edge"}}, "hello from europe");
  const auto other = alice.sign(1, 1700000001, {{"t", "elsewhere"}}, "nobody in asia wants this");
  p.a.send(1, event_frame(e));
  p.a.send(1, event_frame(other));
  CHECK(p.a.take(1) == std::vector<std::string>{ok_true(e), ok_true(other)});
  // One request to the other object, holding only the event it may want.
  REQUIRE(p.a.forwards.size() == 1);
  CHECK(p.a.forwards[0].first == "relay:apac:0");
  CHECK(p.a.forwards[0].second == e.json + "\n");
  const std::string events = p.a.forwards[0].second;
  CHECK(route(p.a, p.b, "relay:apac:0") == 1);
  CHECK(p.b.take(2) == std::vector<std::string>{delivered("s", e)});
  // The same forward again (a retried request): not delivered twice.
  p.b.deliver(events);
  CHECK(p.b.take(2).empty());
  const auto m = p.b.relay().metrics();
  CHECK(m.delivered_events == 1);
  CHECK(p.a.relay().metrics().forward_requests == 1);
  CHECK(p.a.relay().metrics().forwarded_events == 1);
}

TEST_CASE("several objects: whichever D1 batch commits first, the subscription gets the event exactly once") {
  Signer alice(1);
  SUBCASE("the REQ's query (with its publication) commits first: forwarded") {
    Pair p;
    p.b.send_async(2, "[\"REQ\",\"s\",{\"#t\":[\"race\"]}]");
    const auto e = alice.sign(1, 1700000000, {{"t", "race"}}, "after the REQ");
    p.a.send_async(1, event_frame(e));
    p.b.pump();  // B's ids query + publication
    p.a.pump();  // A's store batch reads B's summary
    CHECK(p.b.take(2) == std::vector<std::string>{"[\"EOSE\",\"s\"]"});
    CHECK(route(p.a, p.b, "relay:apac:0") == 1);
    CHECK(p.b.take(2) == std::vector<std::string>{delivered("s", e)});
  }
  SUBCASE("the store commits first: the query finds it and nothing is forwarded") {
    Pair p;
    p.b.send_async(2, "[\"REQ\",\"s\",{\"#t\":[\"race\"]}]");
    const auto e = alice.sign(1, 1700000000, {{"t", "race"}}, "before the REQ's query");
    p.a.send_async(1, event_frame(e));
    p.a.pump();
    p.b.pump();
    CHECK(p.a.forwards.empty());
    CHECK(p.b.take(2) == std::vector<std::string>{delivered("s", e), "[\"EOSE\",\"s\"]"});
    // From now on A knows B's interest.
    const auto later = alice.sign(1, 1700000002, {{"t", "race"}}, "later");
    p.a.send(1, event_frame(later));
    CHECK(route(p.a, p.b, "relay:apac:0") == 1);
    CHECK(p.b.take(2) == std::vector<std::string>{delivered("s", later)});
  }
}

TEST_CASE("several objects: a live-only REQ's EOSE waits for its publication; CLOSE stops forwards after a while") {
  Pair p;
  Signer alice(1);
  p.b.send_async(2, "[\"REQ\",\"live\",{\"kinds\":[7],\"limit\":0}]");
  CHECK(p.b.take(2).empty());  // not yet: the publication is in flight
  p.b.pump();
  CHECK(p.b.take(2) == std::vector<std::string>{"[\"EOSE\",\"live\"]"});
  const auto like = alice.sign(7, 1700000000, {}, "+");
  p.a.send(1, event_frame(like));
  CHECK(p.a.take(1) == std::vector<std::string>{ok_true(like)});
  CHECK(route(p.a, p.b, "relay:apac:0") == 1);
  CHECK(p.b.take(2) == std::vector<std::string>{delivered("live", like)});

  p.b.send(2, "[\"CLOSE\",\"live\"]");
  // The smaller summary goes out interest_shrink_seconds later (at activity).
  p.b.now += p.b.relay().config().interest_shrink_seconds;
  p.b.send(2, "[\"REQ\",\"other\",{\"#t\":[\"unrelated\"]}]");
  p.b.take(2);
  const auto like2 = alice.sign(7, 1700000001, {}, "+");
  p.a.send(1, event_frame(like2));
  CHECK(p.a.take(1) == std::vector<std::string>{ok_true(like2)});
  CHECK(route(p.a, p.b, "relay:apac:0") == 0);
}

TEST_CASE("several objects: a peer that never gets the forward costs nothing but live delivery; hibernation keeps interest") {
  Pair p;
  Signer alice(1);
  p.b.send(2, "[\"REQ\",\"s\",{\"authors\":[\"" + alice.pubkey() + "\"]}]");
  p.b.take(2);
  const auto lost = alice.sign(1, 1700000000, {}, "the forward is dropped");
  p.a.send(1, event_frame(lost));
  CHECK(p.a.take(1) == std::vector<std::string>{ok_true(lost)});  // OK does not wait for peers
  REQUIRE(p.a.forwards.size() == 1);
  p.a.forwards.clear();  // unreachable
  // Stored: a REQ on B finds it.
  p.b.send(2, "[\"REQ\",\"again\",{\"ids\":[\"" + lost.id + "\"]}]");
  CHECK(p.b.take(2) == std::vector<std::string>{delivered("again", lost), "[\"EOSE\",\"again\"]"});

  // B hibernates; its subscriptions come back and its published summary is
  // still in D1: A keeps forwarding.
  p.b.hibernate_and_wake();
  p.b.take(2);
  const auto after = alice.sign(1, 1700000001, {}, "after the nap");
  p.a.send(1, event_frame(after));
  CHECK(route(p.a, p.b, "relay:apac:0") == 1);
  const auto got = p.b.take(2);
  CHECK(std::count(got.begin(), got.end(), delivered("s", after)) == 1);
}

TEST_CASE("one object (regions off, one shard): no publication, no forward, no extra statement") {
  nostr::RelayConfig c;
  c.regions = false;
  SqliteDb d1{std::string(NOSTR_SOURCE_DIR) + "/schema.sql"};
  SimHost h{c, d1, "relay"};
  h.connect(1);
  h.take(1);
  Signer alice(1);
  h.send(1, "[\"REQ\",\"s\",{\"kinds\":[1]}]");
  h.send(1, event_frame(alice.sign(1, 1700000000, {}, "x")));
  CHECK(h.forwards.empty());
  CHECK(h.relay().metrics().interest_publications == 0);
  std::string out, err;
  REQUIRE(d1.run_one({"SELECT COUNT(*) FROM relay_objects", {}}, out, err));
  CHECK(out.substr(20) == "0");
}
