// Trusting nothing a client claims (issue 17's findings), through the
// simulated host: exemptions only for a verified author, forged events
// counted as refusals, a refused author's request to vanish never becoming
// content, NIP-42 / NIP-62 bound to the host the client reached, one address
// model for every list, and the HTTP API shared fairly between addresses.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "../support/nip98_token.h"
#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::ConnMeta;
using nostr::test::nip98_header;
using nostr::test::SignedEvent;
using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

const std::string kUrl = "https://relay.example.com/";

std::string event_frame(const SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
std::string ok_frame(const std::string& id, bool ok, const std::string& msg) {
  return "[\"OK\",\"" + id + "\"," + (ok ? "true" : "false") + ",\"" + msg + "\"]";
}
bool has_prefix(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// The same event with a signature that does not verify (id still correct).
SignedEvent forged(SignedEvent e, int n) {
  const size_t at = e.json.find("\"sig\":\"") + 7;
  std::string sig = e.json.substr(at, 128);
  for (size_t i = 0; i < 8; ++i) sig[i] = "0123456789abcdef"[(n + static_cast<int>(i) * 7) % 16];
  e.json.replace(at, 128, sig);
  return e;
}

size_t count(SimHost& h, const std::string& sql) {
  std::string out, err;
  REQUIRE_MESSAGE(h.d1().run_one({sql, {}}, out, err), err);
  return std::stoul(out.substr(20));
}

ConnMeta at(const std::string& ip, const std::string& host = "") {
  ConnMeta m;
  m.ip = ip;
  m.host = host;
  return m;
}

}  // namespace

TEST_CASE(
    "finding 1: a claimed administrator is charged before verification; forgeries count as "
    "refusals") {
  Signer admin(11), alice(12);
  nostr::RelayConfig c;
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  c.write_policy.trusted_pubkeys = {*nostr::Pubkey::from_hex(alice.pubkey())};
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.event_per_connection = {60, 5};
  c.rate_limits.max_refusals = 3;
  SimHost h(c);
  h.connect(1, at("198.51.100.7"));
  h.take(1);
  // Forged frames under the administrator's pubkey: each is verified, fails,
  // and counts; the fourth refusal in a minute closes the socket.
  for (int i = 0; i < 4; ++i) {
    const auto f = forged(admin.sign(1, h.now, {}, "forged " + std::to_string(i)), i);
    h.send(1, event_frame(f));
  }
  const auto got = h.take(1);
  REQUIRE(got.size() >= 3);
  CHECK(has_prefix(got[0], "[\"OK\",\""));
  CHECK(got[0].find("\",false,\"invalid: signature verification failed\"]") != std::string::npos);
  CHECK(h.relay().meta(1) == nullptr);
  CHECK(h.close_reason(1) ==
        "1008 rate-limited: too many refused messages (events that fail verification count); "
        "closing the connection");
  CHECK(count(h, "SELECT COUNT(*) FROM events") == 0);

  // A verified exempt author (trusted, or the administrator) gets its tokens
  // back: 20 events through a bucket of 5 are all stored.
  h.connect(2, at("198.51.100.8"));
  h.take(2);
  for (int i = 0; i < 20; ++i) {
    const auto e = (i % 2 ? alice : admin).sign(1, h.now, {}, "real " + std::to_string(i));
    h.send(2, event_frame(e));
    CHECK(h.take(2) == std::vector<std::string>{ok_frame(e.id, true, "")});
  }
  // ... while forged administrator frames are charged to the socket's bucket
  // (5): after two of them, an ordinary author has three tokens left.
  Signer bob(14);
  h.connect(3, at("198.51.100.9"));
  h.take(3);
  for (int i = 0; i < 2; ++i)
    h.send(3, event_frame(forged(admin.sign(1, h.now, {}, "again " + std::to_string(i)), i)));
  h.take(3);
  std::vector<std::string> answers;
  for (int i = 0; i < 4; ++i) {
    h.send(3, event_frame(bob.sign(1, h.now, {}, "bob " + std::to_string(i))));
    for (auto& f : h.take(3)) answers.push_back(f);
  }
  REQUIRE(answers.size() == 4);
  CHECK(answers[2].find(",true,") != std::string::npos);
  CHECK(answers[3].find("rate-limited: too many events from this connection") != std::string::npos);
}

TEST_CASE(
    "finding 1, native host: a failed verification handed in is answered and counted, not verified "
    "again") {
  Signer admin(13);
  nostr::RelayConfig c;
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.max_refusals = 2;
  SimHost h(c);
  h.connect(1);
  h.take(1);
  simdjson::dom::parser p;
  for (int i = 0; i < 3; ++i) {
    const auto f = forged(admin.sign(1, h.now, {}, "pool " + std::to_string(i)), i);
    auto e = nostr::Event::parse(p, f.json, c.limits);
    REQUIRE(e.ok());
    const nostr::Reject why =
        nostr::reject(nostr::Code::bad_signature, "signature verification failed");
    h.refuse_invalid(1, e.value(), why);
  }
  const auto got = h.take(1);
  REQUIRE(got.size() >= 2);
  CHECK(got[0].find("false,\"invalid: signature verification failed\"") != std::string::npos);
  CHECK(h.relay().meta(1) == nullptr);  // the third refusal closed it
}

TEST_CASE("finding 2: a refused author's request to vanish is honoured but never served") {
  Signer admin(21), mallory(22), alice(23);
  nostr::RelayConfig c;
  c.relay_url = "wss://relay.example.com";
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  c.write_policy.blocked_phrases = {"casino"};
  c.rate_limits = nostr::RateLimits::unlimited();
  SimHost h(c);
  h.connect(1);
  h.take(1);
  const auto note = mallory.sign(1, h.now - 100, {}, "my old note");
  h.send(1, event_frame(note));
  h.take(1);
  REQUIRE(count(h, "SELECT COUNT(*) FROM events") == 1);
  // Banned, mallory asks to vanish with an advertisement as its content.
  const std::string params = "[\"" + mallory.pubkey() + "\",\"spam\"]";
  const std::string body = "{\"method\":\"banpubkey\",\"params\":" + params + "}";
  REQUIRE(h.admin(kUrl, nip98_header(admin, kUrl, body, h.now, "POST", "1"), body).first == 200);
  h.send(1, R"(["REQ","live",{"kinds":[62]}])");
  h.take(1);
  const auto vanish = mallory.sign(62, h.now, {{"relay", "ALL_RELAYS"}}, "visit my casino");
  h.send(1, event_frame(vanish));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(vanish.id, true, "")});  // no live delivery
  h.advance(1);
  CHECK(count(h, "SELECT COUNT(*) FROM events") ==
        0);  // the old note is gone, the request not stored
  CHECK(count(h, "SELECT COUNT(*) FROM vanish WHERE pending = 0") == 1);
  h.send(1, R"(["REQ","q",{"kinds":[62]}])");
  CHECK(h.take(1) == std::vector<std::string>{R"(["EOSE","q"])"});
  // Allowed authors: a request with blocked content is kept the same way.
  const auto hers = alice.sign(62, h.now, {{"relay", "wss://relay.example.com/"}}, "casino links");
  h.send(1, event_frame(hers));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(hers.id, true, "")});
  CHECK(count(h, "SELECT COUNT(*) FROM events") == 0);
  // ... and a clean one is stored and served as before.
  const auto clean = alice.sign(62, h.now + 1, {{"relay", "ALL_RELAYS"}}, "");
  h.advance(1);
  h.send(1, event_frame(clean));
  const auto got = h.take(1);
  CHECK(std::find(got.begin(), got.end(), ok_frame(clean.id, true, "")) != got.end());
  CHECK(count(h, "SELECT COUNT(*) FROM events WHERE kind = 62") == 1);
  // banevent on a stored request: sent again, it is not stored again.
  const std::string ban = "{\"method\":\"banevent\",\"params\":[\"" + clean.id + "\",\"x\"]}";
  REQUIRE(h.admin(kUrl, nip98_header(admin, kUrl, ban, h.now, "POST", "2"), ban).first == 200);
  h.send(1, event_frame(clean));
  h.take(1);
  CHECK(count(h, "SELECT COUNT(*) FROM events WHERE kind = 62") == 0);
}

TEST_CASE("finding 3: without relay_url, AUTH and NIP-62 must name the host the client reached") {
  Signer alice(31);
  nostr::RelayConfig c;  // relay_url unset (the native server's default)
  c.rate_limits = nostr::RateLimits::unlimited();
  SimHost h(c);
  h.connect(1, at("198.51.100.1", "relay.example.com:7447"));
  h.take(1);
  auto auth = [&](const std::string& relay) {
    const auto e = alice.sign(22242, h.now, {{"relay", relay}, {"challenge", "challenge-1"}}, "");
    h.send(1, "[\"AUTH\"," + e.json + "]");
    return h.take(1).at(0);
  };
  CHECK(
      auth("wss://evil.example/").find("false,\"invalid: AUTH relay tag is for another relay\"") !=
      std::string::npos);
  CHECK(auth("wss://relay.example.com:1@evil.example/")
            .find("false,\"invalid: AUTH relay tag is not a") != std::string::npos);
  CHECK(auth("not a url").find("false,\"invalid:") != std::string::npos);
  CHECK(auth("wss://Relay.Example.com/").find("\",true,\"\"]") != std::string::npos);
  // NIP-62 naming this host (relay_url unset) is honoured; another host's is not.
  const auto other = alice.sign(62, h.now, {{"relay", "wss://evil.example"}}, "");
  h.send(1, event_frame(other));
  CHECK(h.take(1).at(0).find("false,\"invalid: this request to vanish") != std::string::npos);
  const auto ours = alice.sign(62, h.now, {{"relay", "ws://relay.example.com:7447"}}, "");
  h.send(1, event_frame(ours));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ours.id, true, "")});
  // A connection whose host is unknown cannot log in without relay_url.
  h.connect(2);
  h.take(2);
  const auto e = alice.sign(
      22242, h.now, {{"relay", "wss://relay.example.com"}, {"challenge", "challenge-2"}}, "");
  h.send(2, "[\"AUTH\"," + e.json + "]");
  CHECK(h.take(2).at(0).find("its operator must set relay_url") != std::string::npos);
  // With relay_url, the client's Host does not matter.
  nostr::RelayConfig u = c;
  u.relay_url = "wss://relay.example.com";
  SimHost hu(u);
  hu.connect(1, at("198.51.100.1", "evil.example"));
  hu.take(1);
  const auto good = alice.sign(
      22242, hu.now, {{"relay", "wss://relay.example.com"}, {"challenge", "challenge-1"}}, "");
  hu.send(1, "[\"AUTH\"," + good.json + "]");
  CHECK(hu.take(1) == std::vector<std::string>{ok_frame(good.id, true, "")});
  // And a relay_url that is not a ws(s) URL of a host is refused at start.
  CHECK(!nostr::parse_config(R"({"relay_url":"wss://a@b.example"})").ok());
  CHECK(!nostr::parse_config(R"({"relay_url":"https://relay.example.com"})").ok());
}

TEST_CASE("finding 4: every address list takes CIDR ranges, IPv6 included") {
  Signer admin(41);
  nostr::RelayConfig c;
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  c.rate_limits = nostr::RateLimits::unlimited();
  c.rate_limits.req_per_connection = {60, 1};
  auto cfg = nostr::parse_config(R"({"blocked_ips":["2001:db8:bad::/48","203.0.113.0/24"],
                                     "unlimited_ips":["2001:db8:f00d::/64"]})");
  REQUIRE(cfg.ok());
  c.blocked_ips = cfg.value().blocked_ips;
  c.write_policy.unlimited_ips = cfg.value().write_policy.unlimited_ips;
  CHECK(!nostr::parse_config(R"({"blocked_ips":["2001:db8::/200"]})").ok());
  CHECK(!nostr::parse_config(R"({"unlimited_ips":["localhost"]})").ok());
  SimHost h(c);
  // blocked_ips: the next address of a blocked /48 is blocked too.
  h.try_connect(1, at("2001:db8:bad:1::2"));
  CHECK(h.take(1).at(0).find("blocked: connections from this address are not accepted") !=
        std::string::npos);
  h.try_connect(2, at("203.0.113.99"));
  CHECK(h.relay().meta(2) == nullptr);
  // unlimited_ips: any address of the /64 is exempt.
  h.connect(3, at("2001:db8:f00d::77"));
  h.take(3);
  for (int i = 0; i < 3; ++i) h.send(3, "[\"REQ\",\"s" + std::to_string(i) + "\",{\"kinds\":[0]}]");
  for (const auto& f : h.take(3)) CHECK(!has_prefix(f, "[\"CLOSED\""));
  // NIP-86 blockip with a range closes every connection in it, and takes
  // one spelling; unblockip in another spelling lifts it.
  h.connect(4, at("2001:db8:1:2::10"));
  h.connect(5, at("2001:db8:1:3::10"));
  h.connect(6, at("2001:db8:2::10"));
  auto call = [&](const std::string& method, const std::string& params, const std::string& nonce) {
    const std::string body = "{\"method\":\"" + method + "\",\"params\":" + params + "}";
    return h.admin(kUrl, nip98_header(admin, kUrl, body, h.now, "POST", nonce), body);
  };
  CHECK(call("blockip", "[\"2001:DB8:1::/48\",\"abuse\"]", "1").first == 200);
  CHECK(h.relay().meta(4) == nullptr);
  CHECK(h.relay().meta(5) == nullptr);
  CHECK(h.relay().meta(6) != nullptr);
  CHECK(call("listblockedips", "[]", "2").second.find("\"ip\":\"2001:db8:1::/48\"") !=
        std::string::npos);
  CHECK(call("blockip", "[\"not-an-ip\"]", "3").first != 200);
  CHECK(call("unblockip", "[\"2001:db8:1:0::/48\"]", "4").first == 200);
  h.connect(7, at("2001:db8:1:9::1"));
  CHECK(h.relay().meta(7) != nullptr);
  // disconnect by range.
  CHECK(call("disconnect", "[\"ip\",\"2001:db8::/32\"]", "5").second ==
        "{\"result\":3}");  // 3, 6, 7
  CHECK(h.relay().meta(3) == nullptr);
  CHECK(h.relay().meta(6) == nullptr);
  CHECK(h.relay().meta(7) == nullptr);
}

TEST_CASE(
    "finding 7: API calls share their address's buckets and slots; another address is not "
    "starved") {
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  SimHost h(c);
  const ConnMeta flood = at("198.51.100.66"), bystander = at("2001:db8::5");
  std::vector<uint32_t> flood_calls;
  for (int i = 0; i < 24; ++i)
    flood_calls.push_back(h.api_async("POST", "/api/v1/query", R"([{"kinds":[1]}])", flood));
  const uint32_t mine = h.api_async("POST", "/api/v1/query", R"([{"kinds":[1]}])", bystander);
  // Beyond 3 running and 16 waiting, the flooding address is refused at once.
  size_t refused = 0;
  for (const uint32_t r : flood_calls) refused += h.reply(r).first == 429;
  CHECK(refused == 24 - 3 - 16);
  h.pump();
  CHECK(h.reply(mine).first == 200);
  for (const uint32_t r : flood_calls) CHECK((h.reply(r).first == 200 || h.reply(r).first == 429));
  // The bystander was answered before the flooder's queue had drained.
  const auto pos =
      std::find(h.reply_order.begin(), h.reply_order.end(), mine) - h.reply_order.begin();
  CHECK(static_cast<size_t>(pos) < h.reply_order.size() - 8);

  // Buckets: an address's calls share one connection's (120/min burst 2 here).
  nostr::RelayConfig r;
  r.rate_limits = nostr::RateLimits::unlimited();
  r.rate_limits.req_per_connection = {60, 2};
  SimHost hr(r);
  CHECK(hr.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", flood).first == 200);
  CHECK(hr.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", flood).first == 200);
  CHECK(hr.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", flood).first == 429);
  CHECK(hr.api("POST", "/api/v1/query", R"([{"kinds":[1]}])", bystander).first == 200);
}
