// The HTTP API through the engine (Relay::http_api): statuses, bodies, and
// the same rules WebSocket clients meet, on real SQLite.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;

TEST_CASE("HTTP API: publish, query as NDJSON, get by id; refusals map to HTTP statuses") {
  nostr::RelayConfig cfg;
  cfg.write_policy.banned_kinds = {4};
  SimHost h(cfg);
  Signer alice(901);
  const auto a = alice.sign(1, h.now - 2, {{"t", "x"}}, "first");
  const auto b = alice.sign(1, h.now - 1, {{"t", "x"}}, "second");
  auto [st, body] = h.api("POST", "/api/v1/events", a.json);
  CHECK(st == 200);
  CHECK(body == R"({"id":")" + a.id + R"(","accepted":true,"message":""})");
  CHECK(h.api("POST", "/api/v1/events", b.json).first == 200);
  auto dup = h.api("POST", "/api/v1/events", a.json);
  CHECK(dup.first == 200);
  CHECK(dup.second.find(R"("message":"duplicate:)") != std::string::npos);

  // Query: NDJSON of the exact bytes, newest first; get one by id.
  auto q = h.api("POST", "/api/v1/query", R"([{"#t":["x"]}])");
  CHECK(q.first == 200);
  CHECK(q.second == b.json + "\n" + a.json + "\n");
  auto g = h.api("GET", "/api/v1/events/" + a.id);
  CHECK(g == std::pair<uint32_t, std::string>{200, a.json});
  CHECK(h.api("GET", "/api/v1/events/" + std::string(64, '0')).first == 404);

  // Refusals.
  auto bad_sig = a.json;
  bad_sig[bad_sig.find("\"sig\":\"") + 7] ^= 1;
  auto invalid = h.api("POST", "/api/v1/events", bad_sig);
  CHECK(invalid.first == 400);
  CHECK(invalid.second.find(R"("accepted":false,"message":"invalid:)") != std::string::npos);
  auto blocked = h.api("POST", "/api/v1/events", alice.sign(4, h.now, {}, "dm").json);
  CHECK(blocked.first == 403);
  CHECK(h.api("POST", "/api/v1/events", "not json").first == 400);
  CHECK(h.api("POST", "/api/v1/query", R"({"kinds":[1]})").first == 400);
  CHECK(h.api("POST", "/api/v1/query", R"([{"kinds":["x"]}])").first == 400);
  CHECK(h.api("GET", "/api/v1/events/XYZ").first == 400);
  CHECK(h.api("GET", "/api/v1/nothing").first == 404);
  // Nothing stays behind: internal connections are gone.
  CHECK(h.relay().connection_count() == 0);
  CHECK(h.relay().subscription_count() == 0);
}

TEST_CASE("HTTP API: the rules of WebSocket clients apply (gift wraps, rate limits, answer size)") {
  nostr::RelayConfig cfg;
  cfg.rate_limits.event_per_connection = {60, 1};
  cfg.rate_limits.event_per_ip = {60, 2};
  SimHost h(cfg);
  Signer alice(911), wrapper(912);
  nostr::ConnMeta meta;
  meta.ip = "203.0.113.9";
  const auto wrap = wrapper.sign(1059, h.now, {{"p", alice.pubkey()}}, "sealed");
  CHECK(h.api("POST", "/api/v1/events", wrap.json, meta).first == 200);
  // Others' gift wraps are never in an answer.
  CHECK(h.api("POST", "/api/v1/query", R"([{"kinds":[1059]}])").first == 403);  // auth-required
  CHECK(h.api("POST", "/api/v1/query", R"([{}])").second.empty());
  CHECK(h.api("GET", "/api/v1/events/" + wrap.id).first == 404);
  // An address's calls share one connection's buckets (burst 1 here): the
  // second event from that address is refused, another address's is not.
  auto limited = h.api("POST", "/api/v1/events", alice.sign(1, h.now, {}, "2").json, meta);
  CHECK(limited.first == 429);
  nostr::ConnMeta other;
  other.ip = "203.0.113.10";
  CHECK(h.api("POST", "/api/v1/events", alice.sign(1, h.now, {}, "3").json, other).first == 200);
}

TEST_CASE(
    "HTTP API: a query answers a snapshot; an event stored while it runs is not added to it") {
  // Found by the 30-minute soak: an event published while an API query's
  // page was on its way to D1 reached the call as a live delivery, and the
  // answer held limit + 1 events.
  SimHost h;
  Signer alice(921);
  const auto old_note = alice.sign(1, h.now - 10, {}, "stored before the query");
  const auto new_note = alice.sign(1, h.now, {}, "stored while the query runs");
  h.connect(1);
  h.send(1, R"(["EVENT",)" + old_note.json + "]");
  h.take(1);
  const uint32_t q = h.api_async("POST", "/api/v1/query", R"([{"kinds":[1],"limit":1}])");
  h.send_async(1, R"(["EVENT",)" + new_note.json + "]");
  REQUIRE(h.pending_d1() == 2);
  h.execute_first_and_hold();  // the query's page is read: the new note is not stored yet
  h.pump();                    // the new note is stored and fanned out
  CHECK(h.take(1) == std::vector<std::string>{R"(["OK",")" + new_note.id + R"(",true,""])"});
  CHECK(h.reply(q).first == 0);
  h.release_held();  // the page arrives
  CHECK(h.reply(q) == std::pair<uint32_t, std::string>{200, old_note.json + "\n"});
  CHECK(h.relay().connection_count() == 1);
}

TEST_CASE("HTTP API: calls are not connections and take no socket id from the host") {
  nostr::RelayConfig cfg;
  cfg.limits.max_connections = 2;
  SimHost h(cfg);
  Signer alice(921);
  const auto a = alice.sign(1, h.now - 1, {}, "stored");
  // Hosts may number sockets anywhere in uint32_t, the high bit included.
  const uint32_t high = 0x80000001u;
  h.connect(1);
  h.connect(high);
  h.take(high);  // its AUTH challenge
  REQUIRE(h.api("POST", "/api/v1/events", a.json).first == 200);
  // Both sockets are open and the relay is full, yet the API answers.
  const uint32_t pending = h.api_async("POST", "/api/v1/query", R"([{"kinds":[1]}])");
  CHECK(h.relay().connection_count() == 2);
  CHECK(h.relay().usage().connections == 2);
  CHECK(h.relay().stats_json(0).find(R"("connections":2,)") != std::string::npos);
  h.pump();
  CHECK(h.reply(pending) == std::pair<uint32_t, std::string>{200, a.json + "\n"});
  // The socket with the high bit is a socket like any other.
  h.send(high, R"(["REQ","s",{"kinds":[1]}])");
  const auto got = h.take(high);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == R"(["EVENT","s",)" + a.json + "]");
  CHECK(got[1] == R"(["EOSE","s"])");
  CHECK(h.relay().connection_count() == 2);
}

TEST_CASE("HTTP API: a call from an address does not free a socket place of that address") {
  // Regression: an ended API call decremented its address's socket count, so
  // a client alternating API calls and sockets got past max_connections_per_ip.
  nostr::RelayConfig cfg;
  cfg.limits.max_connections_per_ip = 1;
  SimHost h(cfg);
  const nostr::ConnMeta a{"198.51.100.7", "", "", ""};
  h.connect(1, a);
  REQUIRE(h.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", a).first == 200);
  REQUIRE(h.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", a).first == 200);
  h.try_connect(2, a);
  CHECK(h.relay().meta(2) == nullptr);
  CHECK(h.close_reason(2).find("too many connections from this address") != std::string::npos);
  h.disconnect(1);
  h.connect(3, a);  // the place is free once the socket closed
  CHECK(h.relay().meta(3) != nullptr);
}
