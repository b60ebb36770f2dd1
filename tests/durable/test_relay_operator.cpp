// The operator's controls, driven through the simulated host: the write
// policy, rate limits (and their survival across hibernation), NIP-86
// management (auth, every kind of change acting at once, state shared through
// the store), maintenance, disconnects, metrics and structured logs.
#include <doctest/doctest.h>

#include <string>

#include "../support/nip98_token.h"
#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::ConnMeta;
using nostr::test::nip98_header;
using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

const std::string kUrl = "https://relay.example.com/";

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
std::string ok_frame(const nostr::test::SignedEvent& e, bool ok, const std::string& msg) {
  return "[\"OK\",\"" + e.id + "\"," + (ok ? "true" : "false") + ",\"" + msg + "\"]";
}
bool has_prefix(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

size_t count_rows(SimHost& h, const std::string& where) {
  std::string out, err;
  REQUIRE(h.d1().run_one({"SELECT COUNT(*) FROM events WHERE " + where, {}}, out, err));
  return std::stoul(out.substr(20));
}

struct Admin {
  SimHost& h;
  const Signer& key;
  int calls = 0;
  // Calls `method` with params (JSON array text); returns {status, body}.
  std::pair<uint32_t, std::string> call(const std::string& method, const std::string& params = "[]") {
    const std::string body = "{\"method\":\"" + method + "\",\"params\":" + params + "}";
    return h.admin(kUrl, nip98_header(key, kUrl, body, h.now, "POST", std::to_string(++calls)), body);
  }
  std::string result(const std::string& method, const std::string& params = "[]") {
    auto [status, body] = call(method, params);
    CHECK_MESSAGE(status == 200, body);
    return body;
  }
};

nostr::RelayConfig admin_config(const Signer& admin) {
  nostr::RelayConfig c;
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  c.rate_limits = nostr::RateLimits::unlimited();
  return c;
}

}  // namespace

TEST_CASE("write policy: banned pubkeys and kinds, blocked phrases and restricted writes refuse with blocked:/restricted:") {
  Signer alice(1), bob(2), admin(9);
  nostr::RelayConfig c = admin_config(admin);
  c.write_policy.banned_pubkeys = {*nostr::Pubkey::from_hex(bob.pubkey())};
  c.write_policy.banned_kinds = {4};
  c.write_policy.blocked_phrases = {"Buy Now"};
  SimHost h(c);
  h.connect(1);
  h.take(1);
  const auto ok = alice.sign(1, h.now, {}, "hello");
  const auto banned = bob.sign(1, h.now, {}, "hello");
  const auto kind4 = alice.sign(4, h.now, {}, "dm");
  const auto spam = alice.sign(1, h.now, {}, "please BUY NOW cheap");
  for (const auto* e : {&ok, &banned, &kind4, &spam}) h.send(1, event_frame(*e));
  CHECK(h.take(1) == std::vector<std::string>{
                         ok_frame(ok, true, ""), ok_frame(banned, false, "blocked: this pubkey is banned from this relay"),
                         ok_frame(kind4, false, "blocked: kind 4 is not accepted by this relay"),
                         ok_frame(spam, false, "blocked: content contains a blocked phrase")});

  nostr::RelayConfig r = admin_config(admin);
  r.write_policy.restricted_writes = true;
  r.write_policy.allowed_pubkeys = {*nostr::Pubkey::from_hex(alice.pubkey())};
  SimHost rh(r);
  rh.connect(1);
  rh.take(1);
  const auto from_bob = bob.sign(1, rh.now, {}, "hi");
  const auto from_alice = alice.sign(1, rh.now, {}, "hi");
  const auto from_admin = admin.sign(1, rh.now, {}, "hi");
  rh.send(1, event_frame(from_bob));
  rh.send(1, event_frame(from_alice));
  rh.send(1, event_frame(from_admin));
  CHECK(rh.take(1) == std::vector<std::string>{ok_frame(from_bob, false, "restricted: only admitted pubkeys may publish to this relay"),
                                               ok_frame(from_alice, true, ""), ok_frame(from_admin, true, "")});
  // Admission through the management API (the paid-relay hook).
  Admin api{rh, admin};
  CHECK(api.result("allowpubkey", "[\"" + bob.pubkey() + "\",\"paid\"]") == "{\"result\":true}");
  const auto bob2 = bob.sign(1, rh.now, {}, "now I may");
  rh.send(1, event_frame(bob2));
  CHECK(rh.take(1) == std::vector<std::string>{ok_frame(bob2, true, "")});
}

TEST_CASE("rate limits: per connection, per address across connections, per pubkey; hammering closes; exemptions") {
  Signer alice(1), bob(2), trusted(3);
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.event_per_connection = {60, 2};
  c.rate_limits.req_per_ip = {60, 3};
  c.rate_limits.event_per_pubkey = {60, 2};
  c.rate_limits.max_refusals = 3;
  c.write_policy.trusted_pubkeys = {*nostr::Pubkey::from_hex(trusted.pubkey())};
  c.write_policy.unlimited_ips = {"10.0.0.9"};
  SimHost h(c);
  h.connect(1, ConnMeta{"198.51.100.1", "", "", ""});
  h.connect(2, ConnMeta{"198.51.100.1", "", "", ""});
  h.connect(3, ConnMeta{"10.0.0.9", "", "", ""});
  h.take(1), h.take(2), h.take(3);
  // Per connection: a burst of 2, then one a second.
  std::vector<nostr::test::SignedEvent> evs;
  for (int i = 0; i < 3; ++i) evs.push_back(alice.sign(1, h.now, {}, "e" + std::to_string(i)));
  for (const auto& e : evs) h.send(1, event_frame(e));
  auto got = h.take(1);
  REQUIRE(got.size() == 3);
  CHECK(got[2] == ok_frame(evs[2], false, "rate-limited: too many events from this connection, slow down"));
  h.advance(1);
  const auto later = alice.sign(1, h.now, {}, "later");
  h.send(1, event_frame(later));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(later, true, "")});
  // Per pubkey (after verification): alice has spent 2 of 2, and the one refilled.
  const auto from_conn2 = alice.sign(1, h.now, {}, "other socket");
  h.send(2, event_frame(from_conn2));
  CHECK(h.take(2) == std::vector<std::string>{ok_frame(from_conn2, false, "rate-limited: too many events from this pubkey, slow down")});
  // Trusted authors are exempt.
  for (int i = 0; i < 5; ++i) {
    const auto t = trusted.sign(1, h.now, {}, "t" + std::to_string(i));
    h.send(2, event_frame(t));
    CHECK(h.take(2) == std::vector<std::string>{ok_frame(t, true, "")});
  }
  // Per address, across both connections of 198.51.100.1: 3 REQs.
  h.send(1, R"(["REQ","a",{"kinds":[0]}])");
  h.send(2, R"(["REQ","b",{"kinds":[0]}])");
  h.send(1, R"(["REQ","c",{"kinds":[0]}])");
  h.take(1), h.take(2);
  h.send(2, R"(["REQ","d",{"kinds":[0]}])");
  CHECK(h.take(2) == std::vector<std::string>{R"(["CLOSED","d","rate-limited: too many subscription requests from this address, slow down"])"});
  // The unlimited address is not counted at all.
  for (int i = 0; i < 10; ++i) h.send(3, R"(["REQ","x",{"kinds":[0]}])");
  for (const auto& f : h.take(3)) CHECK(!has_prefix(f, "[\"CLOSED\""));
  // Hammering: past max_refusals (3) refusals in a minute the connection is
  // closed (conn 2 has had 2: the pubkey's and the address's).
  h.send(2, R"(["REQ","e",{"kinds":[0]}])");
  CHECK(h.relay().meta(2) != nullptr);
  h.send(2, R"(["REQ","e",{"kinds":[0]}])");
  CHECK(h.relay().meta(2) == nullptr);
  CHECK(h.close_reason(2) == "1008 rate-limited: too many messages over the rate limit; closing the connection");
  CHECK(h.relay().metrics().rate_disconnects == 1);
}

TEST_CASE("per-address limits count an IPv6 /64 as one address") {
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.req_per_ip = {60, 2};
  c.limits.max_connections_per_ip = 2;
  SimHost h(c);
  h.connect(1, ConnMeta{"2001:db8:0:1::a", "", "", ""});
  h.connect(2, ConnMeta{"2001:db8:0:1:ffff::b", "", "", ""});
  h.try_connect(3, ConnMeta{"2001:db8:0:1::c", "", "", ""});  // same /64: over the cap
  CHECK(h.relay().meta(3) == nullptr);
  h.connect(4, ConnMeta{"2001:db8:0:2::a", "", "", ""});  // another /64
  for (uint32_t conn : {1u, 2u, 4u}) h.take(conn);
  h.send(1, R"(["REQ","a",{"kinds":[0]}])");
  h.send(2, R"(["REQ","b",{"kinds":[0]}])");
  h.send(2, R"(["REQ","c",{"kinds":[0]}])");
  h.take(1);
  CHECK(h.take(2).back() == R"(["CLOSED","c","rate-limited: too many subscription requests from this address, slow down"])");
  h.send(4, R"(["REQ","d",{"kinds":[0]}])");
  CHECK(h.take(4).back() == R"(["EOSE","d"])");
  h.disconnect(1);
  h.connect(5, ConnMeta{"2001:db8:0:1::d", "", "", ""});  // room again in that /64
  CHECK(h.relay().meta(5) != nullptr);
}

TEST_CASE("rate limits: bucket state survives hibernation (connection buckets in conn state, address buckets in local SQL)") {
  Signer alice(1);
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.event_per_connection = {1, 2};  // one a minute
  c.rate_limits.req_per_ip = {1, 1};
  SimHost h(c);
  h.connect(1, ConnMeta{"198.51.100.7", "", "", ""});
  h.take(1);
  for (int i = 0; i < 2; ++i) h.send(1, event_frame(alice.sign(1, h.now, {}, std::to_string(i))));
  h.send(1, R"(["REQ","a",{"kinds":[0]}])");
  h.take(1);
  h.advance(2);  // the flush timer saves the buckets
  h.hibernate_and_wake();
  h.take(1);
  const auto e = alice.sign(1, h.now, {}, "after wake");
  h.send(1, event_frame(e));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(e, false, "rate-limited: too many events from this connection, slow down")});
  h.connect(2, ConnMeta{"198.51.100.7", "", "", ""});
  h.take(2);
  h.send(2, R"(["REQ","b",{"kinds":[0]}])");
  CHECK(h.take(2) == std::vector<std::string>{R"(["CLOSED","b","rate-limited: too many subscription requests from this address, slow down"])"});
}

TEST_CASE("nip86: each authorization failure gets 401 with its reason; a disabled API is 404") {
  Signer admin(9), stranger(10);
  SimHost h(admin_config(admin));
  const std::string body = R"({"method":"supportedmethods","params":[]})";
  auto status_of = [&](const std::string& auth, const std::string& b = R"({"method":"supportedmethods","params":[]})",
                       const std::string& url = kUrl) { return h.admin(url, auth, b); };
  CHECK(status_of("").first == 401);
  CHECK(status_of(nip98_header(stranger, kUrl, body, h.now)).second.find("is not an administrator") != std::string::npos);
  CHECK(status_of(nip98_header(admin, kUrl, body, h.now - 120)).second.find("created_at") != std::string::npos);
  CHECK(status_of(nip98_header(admin, "https://evil.example.com/", body, h.now)).second.find("u tag") != std::string::npos);
  CHECK(status_of(nip98_header(admin, kUrl, body, h.now, "GET")).second.find("method tag") != std::string::npos);
  CHECK(status_of(nip98_header(admin, kUrl, body, h.now), R"({"method":"listblockedips","params":[]})").second.find("payload") !=
        std::string::npos);
  const std::string once = nip98_header(admin, kUrl, body, h.now);
  CHECK(status_of(once).first == 200);
  auto replay = status_of(once);
  CHECK(replay.first == 401);
  CHECK(replay.second.find("already used") != std::string::npos);
  CHECK(h.relay().metrics().admin_refused == 7);
  // The used id is in the store: a woken object refuses the replay too.
  h.hibernate_and_wake();
  CHECK(status_of(once).second.find("already used") != std::string::npos);

  SimHost off;  // no ADMIN_PUBKEYS
  CHECK(off.admin(kUrl, nip98_header(admin, kUrl, body, off.now), body).first == 404);
}

TEST_CASE("nip86: every method, acting at once and kept in the store for other objects") {
  Signer admin(9), alice(1), bob(2);
  SimHost h(admin_config(admin));
  Admin api{h, admin};
  h.connect(1, ConnMeta{"198.51.100.1", "", "", ""});
  h.take(1);
  const auto a1 = alice.sign(1, h.now, {{"t", "x"}}, "alice 1");
  const auto b1 = bob.sign(1, h.now, {}, "bob 1");
  const auto report = bob.sign(1984, h.now, {{"e", a1.id, "spam"}, {"p", alice.pubkey()}}, "");
  for (const auto* e : {&a1, &b1, &report}) h.send(1, event_frame(*e));
  h.take(1);

  const std::string methods = api.result("supportedmethods");
  for (const char* m : {"banpubkey", "listallowedkinds", "changerelayicon", "setmaintenance", "disconnect", "listconnections"}) {
    CHECK(methods.find(std::string("\"") + m + "\"") != std::string::npos);
  }
  CHECK(api.result("listeventsneedingmoderation") == "{\"result\":[{\"id\":\"" + a1.id + "\",\"reason\":\"spam\"}]}");
  // banevent: the row goes, re-publishing is refused, the queue forgets it.
  CHECK(api.result("banevent", "[\"" + a1.id + "\",\"spam\"]") == "{\"result\":true}");
  CHECK(count_rows(h, "id = '" + a1.id + "'") == 0);
  h.send(1, event_frame(a1));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(a1, false, "blocked: this event is banned from this relay")});
  CHECK(api.result("listbannedevents") == "{\"result\":[{\"id\":\"" + a1.id + "\",\"reason\":\"spam\"}]}");
  CHECK(api.result("listeventsneedingmoderation") == "{\"result\":[]}");
  CHECK(api.result("allowevent", "[\"" + a1.id + "\"]") == "{\"result\":true}");
  CHECK(api.result("listallowedevents") == "{\"result\":[{\"id\":\"" + a1.id + "\",\"reason\":\"\"}]}");
  CHECK(api.result("unallowevent", "[\"" + a1.id + "\"]") == "{\"result\":true}");
  CHECK(api.result("listallowedevents") == "{\"result\":[]}");
  h.send(1, event_frame(a1));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(a1, true, "")});
  CHECK(api.result("banevent", "[\"" + a1.id + "\"]") == "{\"result\":true}");
  CHECK(api.result("unbanevent", "[\"" + a1.id + "\"]") == "{\"result\":true}");
  CHECK(api.result("listbannedevents") == "{\"result\":[]}");

  // banpubkey: every row of bob goes at once, further writes refused.
  CHECK(count_rows(h, "pubkey = '" + bob.pubkey() + "'") == 2);
  CHECK(api.result("banpubkey", "[\"" + bob.pubkey() + "\",\"abuse\"]") == "{\"result\":true}");
  CHECK(count_rows(h, "pubkey = '" + bob.pubkey() + "'") == 0);
  const auto b2 = bob.sign(1, h.now, {}, "bob 2");
  h.send(1, event_frame(b2));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(b2, false, "blocked: this pubkey is banned from this relay")});
  CHECK(api.result("listbannedpubkeys") == "{\"result\":[{\"pubkey\":\"" + bob.pubkey() + "\",\"reason\":\"abuse\"}]}");
  CHECK(api.result("unbanpubkey", "[\"" + bob.pubkey() + "\"]") == "{\"result\":true}");
  CHECK(api.result("listbannedpubkeys") == "{\"result\":[]}");
  CHECK(api.result("allowpubkey", "[\"" + bob.pubkey() + "\"]") == "{\"result\":true}");
  CHECK(api.result("listallowedpubkeys") == "{\"result\":[{\"pubkey\":\"" + bob.pubkey() + "\",\"reason\":\"\"}]}");
  CHECK(api.result("unallowpubkey", "[\"" + bob.pubkey() + "\"]") == "{\"result\":true}");
  CHECK(api.result("listallowedpubkeys") == "{\"result\":[]}");

  // Kinds: an allow list makes other kinds refused; disallowkind refuses one.
  CHECK(api.result("allowkind", "[1]") == "{\"result\":true}");
  CHECK(api.result("listallowedkinds") == "{\"result\":[1]}");
  const auto k7 = alice.sign(7, h.now, {}, "+");
  h.send(1, event_frame(k7));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(k7, false, "blocked: kind 7 is not accepted by this relay")});
  CHECK(api.result("disallowkind", "[1]") == "{\"result\":true}");
  CHECK(api.result("listdisallowedkinds") == "{\"result\":[1]}");
  CHECK(api.result("listallowedkinds") == "{\"result\":[]}");

  // Settings.
  CHECK(api.result("changerelayname", "[\"Renamed\"]") == "{\"result\":true}");
  CHECK(api.result("changerelaydescription", "[\"A new description\"]") == "{\"result\":true}");
  CHECK(api.result("changerelayicon", "[\"https://example.com/icon.png\"]") == "{\"result\":true}");
  CHECK(h.relay().management().name == "Renamed");
  CHECK(h.relay().management().icon == "https://example.com/icon.png");

  // Connections: list, block an address (its sockets close at once), disconnect.
  h.connect(2, ConnMeta{"203.0.113.5", "", "client/2", ""});
  h.take(2);
  const std::string conns = api.result("listconnections");
  CHECK(conns.find("\"id\":2,\"ip\":\"203.0.113.5\",\"user_agent\":\"client/2\"") != std::string::npos);
  CHECK(api.result("blockip", "[\"203.0.113.5\",\"scraper\"]") == "{\"result\":true}");
  CHECK(h.relay().meta(2) == nullptr);
  CHECK(h.close_reason(2) == "1008 blocked: connections from this address are not accepted");
  CHECK(api.result("listblockedips") == "{\"result\":[{\"ip\":\"203.0.113.5\",\"reason\":\"scraper\"}]}");
  h.try_connect(3, ConnMeta{"203.0.113.5", "", "", ""});
  CHECK(h.relay().meta(3) == nullptr);
  CHECK(api.result("unblockip", "[\"203.0.113.5\"]") == "{\"result\":true}");
  CHECK(api.result("listblockedips") == "{\"result\":[]}");
  h.connect(4, ConnMeta{"203.0.113.5", "", "", ""});
  CHECK(api.result("disconnect", "[\"ip\",\"203.0.113.5\",\"bye\"]") == "{\"result\":1}");
  CHECK(h.close_reason(4) == "1008 blocked: disconnected by the relay operator: bye");
  CHECK(api.result("disconnect", "[\"connection\",\"1\"]") == "{\"result\":1}");
  CHECK(h.relay().connection_count() == 0);

  // Maintenance: new connections refused with the reason, existing ones continue.
  h.connect(5);
  h.take(5);
  CHECK(api.result("setmaintenance", "[true,\"upgrading the database\"]") == "{\"result\":true}");
  h.try_connect(6);
  CHECK(h.take(6) == std::vector<std::string>{R"(["NOTICE","restricted: not accepting new connections: upgrading the database"])"});
  CHECK(h.relay().meta(5) != nullptr);
  h.send(5, R"(["REQ","still",{"kinds":[0]}])");
  CHECK(h.take(5).back() == R"(["EOSE","still"])");
  CHECK(api.result("setmaintenance", "[false]") == "{\"result\":true}");
  h.connect(7);

  // Everything is in the store: a fresh object (another Durable Object, or
  // this one after eviction) loads the same state.
  h.hibernate_and_wake();
  const nostr::ManagementState& m = h.relay().management();
  CHECK(m.name == "Renamed");
  CHECK(m.description == "A new description");
  CHECK(m.maintenance.empty());
  CHECK(m.kinds.at(1) == false);
  CHECK(api.result("listdisallowedkinds") == "{\"result\":[1]}");
  // Bad requests: 400 with the reason.
  auto bad = api.call("banpubkey", "[\"nothex\"]");
  CHECK(bad.first == 400);
  CHECK(bad.second == R"({"result":null,"error":"banpubkey: pubkey must be 64 lowercase hex characters"})");
  CHECK(api.call("nosuchmethod").second == R"({"result":null,"error":"unsupported method: nosuchmethod"})");
}

TEST_CASE("management state: another object's change reaches this one within the check interval") {
  Signer admin(9), alice(1);
  SimHost h(admin_config(admin));
  h.connect(1);
  h.take(1);
  // Another object bans alice: only the store changes here.
  std::string out, err;
  REQUIRE(h.d1().run_batch({{"INSERT INTO mgmt_pubkeys (pubkey, state, reason) VALUES (?, 0, 'x')",
                             {nostr::SqlParam::of(alice.pubkey())}},
                            {"UPDATE mgmt_version SET version = version + 1", {}}},
                           out, err));
  const auto e1 = alice.sign(1, h.now, {}, "before the check");
  h.send(1, event_frame(e1));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(e1, true, "")});
  h.advance(6);
  h.send(1, R"(["REQ","tick",{"kinds":[0]}])");  // activity: the version check runs, the state reloads
  h.take(1);
  const auto e2 = alice.sign(1, h.now, {}, "after the check");
  h.send(1, event_frame(e2));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(e2, false, "blocked: this pubkey is banned from this relay")});
}

TEST_CASE("metrics and logs: counters by reason, a latency histogram, structured refusal lines") {
  Signer alice(1), admin(9);
  nostr::RelayConfig c = admin_config(admin);
  c.write_policy.banned_kinds = {4};
  SimHost h(c);
  h.connect(1, ConnMeta{"198.51.100.1", "", "", ""});
  h.send(1, event_frame(alice.sign(1, h.now, {}, "ok")));
  h.send(1, event_frame(alice.sign(4, h.now, {}, "no")));
  h.send(1, "not json");
  h.relay().observe_store_latency(0.003);
  const std::string text = h.relay().metrics_text(1 << 20);
  CHECK(text.find("nostr_relay_connections 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_events_accepted_total 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_events_refused_total{reason=\"blocked\"} 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_messages_in_total{type=\"EVENT\"} 2\n") != std::string::npos);
  CHECK(text.find("nostr_relay_messages_in_total{type=\"invalid\"} 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_store_seconds_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_store_seconds_count 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_hibernation_wakes_total 1\n") != std::string::npos);
  CHECK(text.find("nostr_relay_wasm_heap_bytes 1048576\n") != std::string::npos);
  bool logged = false;
  for (const std::string& line : h.logs) {
    if (line.find("\"msg\":\"refused\"") != std::string::npos && line.find("kind 4") != std::string::npos &&
        line.find("\"ip\":\"198.51.100.1\"") != std::string::npos) {
      logged = true;
    }
  }
  CHECK(logged);
  // Counters are saved within kCounterFlush seconds and survive hibernation.
  h.advance(nostr::durable::Relay::kCounterFlush);
  h.hibernate_and_wake();
  CHECK(h.relay().metrics().wakes == 2);
  CHECK(h.relay().metrics().events_refused.at("blocked") == 1);
  CHECK(h.relay().health_json() == R"({"connections":1,"subscriptions":0,"events_accepted":1,"management_loaded":true,"maintenance":false})");
}

TEST_CASE("NIP-13: limits.min_pow_difficulty refuses events without a nonce, a lower committed target or a weaker id") {
  Signer alice(1);
  nostr::RelayConfig c;
  c.limits.min_pow_difficulty = 8;
  SimHost h(c);
  h.connect(1);
  h.take(1);
  // Mine: a nonce tag committing to `target`, until the id has >= 8 zero bits.
  auto mine = [&](const std::string& target) {
    for (uint64_t n = 0;; ++n) {
      const auto e = alice.sign(1, h.now, {{"nonce", std::to_string(n), target}}, "work");
      if (nostr::pow_difficulty(*nostr::EventId::from_hex(e.id)) >= 8) return e;
    }
  };
  const auto good = mine("8");
  const auto cheap_commit = mine("4");
  const auto no_nonce = alice.sign(1, h.now, {}, "no work");
  nostr::test::SignedEvent weak;
  for (uint64_t n = 0;; ++n) {  // committed 8 but the id is weaker
    weak = alice.sign(1, h.now, {{"nonce", std::to_string(n), "8"}}, "weak");
    if (nostr::pow_difficulty(*nostr::EventId::from_hex(weak.id)) < 8) break;
  }
  for (const nostr::test::SignedEvent* e : {&good, &cheap_commit, &no_nonce, static_cast<const nostr::test::SignedEvent*>(&weak)}) h.send(1, event_frame(*e));
  const auto weak_bits = std::to_string(nostr::pow_difficulty(*nostr::EventId::from_hex(weak.id)));
  CHECK(h.take(1) == std::vector<std::string>{
                         ok_frame(good, true, ""), ok_frame(cheap_commit, false, "pow: committed target 4 is less than 8"),
                         ok_frame(no_nonce, false, "pow: this relay requires proof of work (NIP-13) of difficulty 8"),
                         ok_frame(weak, false, "pow: difficulty " + weak_bits + " is less than 8")});
  CHECK(nostr::relay_info_json(c).find("\"min_pow_difficulty\":8") != std::string::npos);
  CHECK(nostr::pow_difficulty(*nostr::EventId::from_hex("000000000e9d97a1ab09fc381030b346cdd7a142ad57e6df0b46dc9bef6c7e2d")) == 36);
  CHECK(!nostr::parse_config(R"({"limits":{"min_pow_difficulty":257}})"));
}
