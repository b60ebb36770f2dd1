// NIP-50 through the engine on real SQLite FTS5 (the D1 schema): ranked stored
// answers, live matching that agrees with the index, COUNT, every path that
// deletes an event also leaving the index, and the configured kinds.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
std::string event_of(const std::string& sub, const nostr::test::SignedEvent& e) {
  return "[\"EVENT\",\"" + sub + "\"," + e.json + "]";
}

size_t rows(SimHost& h, const std::string& sql) {
  std::string out, err;
  REQUIRE(h.d1().run_one({sql, {}}, out, err));
  return std::stoul(out.substr(20));
}

void publish(SimHost& h, uint32_t conn, const nostr::test::SignedEvent& e) {
  h.send(conn, event_frame(e));
  REQUIRE(h.take(conn) == std::vector<std::string>{"[\"OK\",\"" + e.id + "\",true,\"\"]"});
}

}  // namespace

TEST_CASE(
    "search: ranked by relevance, ties newest first; other conditions apply; live matches agree") {
  SimHost h;
  Signer alice(601), bob(602);
  h.connect(1);
  h.connect(2);
  h.take(1);
  h.take(2);
  const auto once = alice.sign(1, h.now - 30, {},
                               "a long note that mentions Nostr once among many other words here");
  const auto thrice = bob.sign(1, h.now - 20, {}, "nostr NOSTR nostr!");
  const auto older_tie = alice.sign(1, h.now - 10, {}, "Nostr relays");
  const auto newer_tie = bob.sign(1, h.now - 5, {}, "nostr relays");
  const auto reaction = bob.sign(7, h.now, {}, "nostr");  // kind 7 is not indexed
  const auto accents = alice.sign(1, h.now, {}, "Un café à Zürich");
  for (const auto& e : {once, thrice, older_tie, newer_tie, reaction, accents}) publish(h, 1, e);

  h.send(2, R"(["REQ","s",{"search":"nostr"}])");
  CHECK(h.take(2) == std::vector<std::string>{event_of("s", thrice), event_of("s", newer_tie),
                                              event_of("s", older_tie), event_of("s", once),
                                              "[\"EOSE\",\"s\"]"});
  // All words required; case and diacritics folded; extensions ignored.
  h.send(2, R"(["REQ","t",{"search":"RELAYS nostr include:spam"}])");
  CHECK(h.take(2) == std::vector<std::string>{event_of("t", newer_tie), event_of("t", older_tie),
                                              "[\"EOSE\",\"t\"]"});
  h.send(2, R"(["REQ","u",{"search":"CAFE zurich"}])");
  CHECK(h.take(2) == std::vector<std::string>{event_of("u", accents), "[\"EOSE\",\"u\"]"});
  // Other conditions and the limit combine with the search.
  h.send(2, R"(["REQ","v",{"search":"nostr","authors":[")" + alice.pubkey() + R"("],"limit":1}])");
  CHECK(h.take(2) == std::vector<std::string>{event_of("v", older_tie), "[\"EOSE\",\"v\"]"});
  h.send(2, R"(["REQ","w",{"search":"nostr","kinds":[7]}])");
  CHECK(h.take(2) == std::vector<std::string>{"[\"EOSE\",\"w\"]"});
  // Only extensions: no condition at all.
  h.send(2, R"(["REQ","x",{"search":"language:en","kinds":[7]}])");
  CHECK(h.take(2) == std::vector<std::string>{event_of("x", reaction), "[\"EOSE\",\"x\"]"});

  // Live: exactly what the index would return.
  h.send(2, R"(["REQ","live",{"search":"zurich"}])");
  h.take(2);
  const auto hit = bob.sign(1, h.now, {}, "ZÜRICH, again");
  const auto not_indexed = bob.sign(7, h.now, {}, "zurich");
  const auto miss = bob.sign(1, h.now, {}, "zurichsee");
  for (const auto& e : {hit, not_indexed, miss}) publish(h, 1, e);
  CHECK(h.take(2) == std::vector<std::string>{event_of("live", hit), event_of("x", not_indexed)});

  // COUNT with search.
  h.send(2, R"(["COUNT","c",{"search":"nostr"},{"search":"relays"}])");
  CHECK(h.take(2) == std::vector<std::string>{R"(["COUNT","c",{"count":4}])"});
}

TEST_CASE("search index: every delete path removes an event from it") {
  SimHost h;
  Signer alice(611);
  h.connect(1);
  h.take(1);
  auto found = [&h](const std::string& word) {
    h.send(1, R"(["COUNT","n",{"search":")" + word + R"("}])");
    const auto got = h.take(1);
    REQUIRE(got.size() == 1);
    return got[0];
  };
  // Replacement (addressable long-form, kind 30023).
  const auto v1 = alice.sign(30023, h.now - 10, {{"d", "post"}}, "first draft about lighthouses");
  const auto v2 = alice.sign(30023, h.now, {{"d", "post"}}, "final text about harbours");
  publish(h, 1, v1);
  CHECK(found("lighthouses") == R"(["COUNT","n",{"count":1}])");
  publish(h, 1, v2);
  CHECK(found("lighthouses") == R"(["COUNT","n",{"count":0}])");
  CHECK(found("harbours") == R"(["COUNT","n",{"count":1}])");
  // NIP-09 deletion.
  const auto note = alice.sign(1, h.now, {}, "ephemeral thoughts on zeppelins");
  publish(h, 1, note);
  CHECK(found("zeppelins") == R"(["COUNT","n",{"count":1}])");
  publish(h, 1, alice.sign(5, h.now, {{"e", note.id}}, ""));
  CHECK(found("zeppelins") == R"(["COUNT","n",{"count":0}])");
  // NIP-40 expiry sweep.
  const auto brief =
      alice.sign(1, h.now, {{"expiration", std::to_string(h.now + 10)}}, "brief note on gondolas");
  publish(h, 1, brief);
  CHECK(rows(h, "SELECT COUNT(*) FROM events_fts WHERE events_fts MATCH 'gondolas'") == 1);
  h.advance(h.relay().next_alarm() - h.now);
  CHECK(rows(h, "SELECT COUNT(*) FROM events_fts WHERE events_fts MATCH 'gondolas'") == 0);
  // The index holds exactly the stored events of indexed kinds.
  CHECK(rows(h, "SELECT COUNT(*) FROM events_fts") ==
        rows(h, "SELECT COUNT(*) FROM events WHERE kind IN (SELECT kind FROM search_kinds)"));
}

TEST_CASE("search kinds follow the configuration; empty turns search off") {
  nostr::RelayConfig cfg;
  cfg.search_kinds = {1, 30402};
  SimHost h(cfg);
  CHECK(rows(h, "SELECT COUNT(*) FROM search_kinds") == 2);
  CHECK(rows(h, "SELECT COUNT(*) FROM search_kinds WHERE kind = 30402") == 1);
  Signer alice(621);
  h.connect(1);
  h.take(1);
  const auto listing = alice.sign(30402, h.now, {{"d", "bike"}}, "vintage bicycle for sale");
  const auto profile = alice.sign(0, h.now, {}, R"({"name":"bicycle fan"})");
  publish(h, 1, listing);
  publish(h, 1, profile);
  h.send(1, R"(["REQ","s",{"search":"bicycle"}])");
  CHECK(h.take(1) == std::vector<std::string>{event_of("s", listing), "[\"EOSE\",\"s\"]"});

  nostr::RelayConfig off;
  off.search_kinds = {};
  SimHost h2(off);
  h2.connect(1);
  h2.take(1);
  h2.send(1, R"(["REQ","s",{"search":"bicycle"}])");
  CHECK(h2.take(1) ==
        std::vector<std::string>{
            R"(["CLOSED","s","unsupported: search (NIP-50) is not enabled on this relay"])"});
}
