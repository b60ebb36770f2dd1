// The engine's seams, driven through the simulated host: connection metadata
// reaching a policy decision, a policy hook (NIP-42 required) enforced at every
// decision point, and both kinds of timers (the AUTH deadline and the NIP-40
// expiry sweep, which survive hibernation through conn state and local SQL).
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"
#include "core/verify.h"
#include "durable/local_schema.h"

using nostr::ConnMeta;
using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

size_t count_rows(SimHost& h, const std::string& table) {
  std::string out, err;
  REQUIRE(h.d1().run_one({"SELECT COUNT(*) FROM " + table, {}}, out, err));
  return std::stoul(out.substr(20));  // the one cell after the result header
}

}  // namespace

TEST_CASE(
    "connection metadata: policy refuses a blocked address at open, others keep their metadata "
    "across hibernation") {
  nostr::RelayConfig cfg;
  cfg.blocked_ips = {"203.0.113.9"};
  SimHost h(cfg);
  h.try_connect(1, ConnMeta{"203.0.113.9", "https://spam.example", "bot/1.0", ""});
  CHECK(h.take(1) ==
        std::vector<std::string>{
            "[\"NOTICE\",\"blocked: connections from this address are not accepted\"]"});
  CHECK(h.closed() == std::vector<uint32_t>{1});
  CHECK(h.close_reason(1) == "1008 blocked: connections from this address are not accepted");
  CHECK(h.relay().connection_count() == 0);
  CHECK(h.relay().meta(1) == nullptr);

  h.connect(2, ConnMeta{"198.51.100.7", "https://client.example", "nostr-tools", ""});
  CHECK(h.take(2) == std::vector<std::string>{"[\"AUTH\",\"challenge-2\"]"});
  REQUIRE(h.relay().meta(2) != nullptr);
  CHECK(h.relay().meta(2)->ip == "198.51.100.7");
  h.hibernate_and_wake();  // the metadata is part of the connection's state
  REQUIRE(h.relay().meta(2) != nullptr);
  CHECK(h.relay().meta(2)->ip == "198.51.100.7");
  CHECK(h.relay().meta(2)->origin == "https://client.example");
  CHECK(h.relay().meta(2)->user_agent == "nostr-tools");
}

TEST_CASE(
    "policy: NIP-42 required refuses REQ, COUNT and EVENT before AUTH, and the timer closes who "
    "never authenticates") {
  nostr::RelayConfig cfg;
  cfg.auth_required = true;
  cfg.auth_timeout = 30;
  cfg.relay_url = "wss://relay.example.com";
  SimHost h(cfg);
  Signer alice(301);
  h.connect(1);
  h.connect(2);
  h.take(1);
  h.take(2);
  CHECK(h.relay().next_alarm() == h.now + 30);
  // An alarm, not an in-memory timer (beyond the counters' save): the object may hibernate.
  CHECK(h.relay().next_deadline() == h.now + nostr::durable::Relay::kCounterFlush);

  h.send(1, "[\"REQ\",\"r\",{\"kinds\":[1]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"CLOSED\",\"r\",\"auth-required: this relay "
                                              "requires NIP-42 authentication to read\"]"});
  h.send(1, "[\"COUNT\",\"c\",{\"kinds\":[1]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"CLOSED\",\"c\",\"auth-required: this relay "
                                              "requires NIP-42 authentication to read\"]"});
  const auto note = alice.sign(1, h.now, {}, "hello");
  h.send(1, event_frame(note));
  CHECK(h.take(1) ==
        std::vector<std::string>{
            "[\"OK\",\"" + note.id +
            "\",false,\"auth-required: this relay requires NIP-42 authentication to publish\"]"});
  CHECK(count_rows(h, "events") == 0);

  // Connection 2 authenticates in time: it reads and publishes.
  const auto auth =
      alice.sign(22242, h.now, {{"relay", cfg.relay_url}, {"challenge", "challenge-2"}}, "");
  h.send(2, "[\"AUTH\"," + auth.json + "]");
  CHECK(h.take(2) == std::vector<std::string>{"[\"OK\",\"" + auth.id + "\",true,\"\"]"});
  h.send(2, "[\"REQ\",\"live\",{\"kinds\":[1]}]");
  CHECK(h.take(2) == std::vector<std::string>{"[\"EOSE\",\"live\"]"});
  h.send(2, event_frame(note));
  CHECK(h.take(2) == std::vector<std::string>{"[\"OK\",\"" + note.id + "\",true,\"\"]",
                                              "[\"EVENT\",\"live\"," + note.json + "]"});

  // The deadline passes: connection 1 is told why and closed; 2 stays.
  h.advance(29);
  CHECK(h.closed().empty());
  h.advance(1);
  CHECK(h.take(1) == std::vector<std::string>{"[\"NOTICE\",\"auth-required: no NIP-42 "
                                              "authentication within 30 seconds of connecting\"]"});
  CHECK(h.closed() == std::vector<uint32_t>{1});
  CHECK(starts_with(h.close_reason(1), "1008 auth-required:"));
  CHECK(h.relay().connection_count() == 1);
  CHECK(h.relay().next_alarm() > h.now);  // only the expiry sweep is left
}

TEST_CASE(
    "timers: the NIP-40 expiry sweep deletes expired events and their tags from the store, and its "
    "time survives hibernation") {
  SimHost h;
  Signer alice(302);
  h.connect(1);
  h.take(1);
  const uint64_t start = h.now;
  const auto brief = alice.sign(
      1, h.now, {{"expiration", std::to_string(h.now + 10)}, {"t", "brief"}}, "gone soon");
  const auto lasting = alice.sign(1, h.now, {{"t", "lasting"}}, "stays");
  h.send(1, event_frame(brief));
  h.send(1, event_frame(lasting));
  h.take(1);
  CHECK(count_rows(h, "events") == 2);
  CHECK(count_rows(h, "tags") == 2);
  const uint64_t sweep = h.relay().next_alarm();
  CHECK(sweep == start + 3600);  // first start: one interval from now

  h.advance(20);  // expired: never served, but still stored until the sweep
  h.send(1, "[\"REQ\",\"r\",{\"kinds\":[1]}]");
  CHECK(h.take(1) ==
        std::vector<std::string>{"[\"EVENT\",\"r\"," + lasting.json + "]", "[\"EOSE\",\"r\"]"});
  CHECK(count_rows(h, "events") == 2);

  h.hibernate_and_wake();  // the sweep time comes back from local SQL, not reset
  CHECK(h.relay().next_alarm() == sweep);
  h.advance(sweep - h.now);
  CHECK(count_rows(h, "events") == 1);
  CHECK(count_rows(h, "tags") == 1);
  CHECK(h.relay().next_alarm() == h.now + 3600);
}

TEST_CASE(
    "local SQL schema: numbered migrations run once, up to the latest version, and keep older "
    "data") {
  SimHost h;
  auto version = [&h] {
    std::string out, err;
    REQUIRE(h.local_db().run_one({"SELECT MAX(version) FROM schema_version", {}}, out, err));
    return out.substr(20);
  };
  CHECK(version() == std::to_string(std::size(nostr::durable::kLocalMigrations)));
  // An object from before versioning: its subs table and rows, no version.
  std::string out, err;
  REQUIRE(h.local_db().run_one({"DROP TABLE schema_version", {}}, out, err));
  REQUIRE(h.local_db().run_one(
      {"INSERT INTO subs (conn, sub, filters) VALUES (77, 's', '[{}]')", {}}, out, err));
  h.hibernate_and_wake();
  CHECK(version() == std::to_string(std::size(nostr::durable::kLocalMigrations)));
  // Connection 77 is not open: its row is dropped as stale, by the restore that ran after the
  // migrations.
  REQUIRE(h.local_db().run_one({"SELECT COUNT(*) FROM subs", {}}, out, err));
  CHECK(out.substr(20) == "0");
}

TEST_CASE("local SQL schema: a table that went missing is re-created at the next wake") {
  SimHost h;
  std::string out, err;
  REQUIRE(h.local_db().run_one({"DROP TABLE subs", {}}, out, err));
  h.hibernate_and_wake();  // would fail (no such table) if only missing versions ran
  REQUIRE(h.local_db().run_one({"SELECT COUNT(*) FROM subs", {}}, out, err));
  CHECK(out.substr(20) == "0");
}

TEST_CASE(
    "policy: limits.max_connections_per_ip caps the sockets of one address, counting closes and "
    "wakes") {
  nostr::RelayConfig cfg;
  cfg.limits.max_connections_per_ip = 2;
  SimHost h(cfg);
  const ConnMeta a{"198.51.100.1", "", "", ""}, b{"198.51.100.2", "", "", ""};
  h.connect(1, a);
  h.connect(2, a);
  h.try_connect(3, a);
  CHECK(h.take(3) ==
        std::vector<std::string>{"[\"NOTICE\",\"rate-limited: too many connections from this "
                                 "address (limit is 2), try again later\"]"});
  CHECK(h.close_reason(3) ==
        "1013 rate-limited: too many connections from this address (limit is 2), try again later");
  h.connect(4, b);   // another address is not affected
  h.connect(5, {});  // nor is an unknown one
  CHECK(h.relay().connection_count() == 4);
  h.hibernate_and_wake();  // the count is rebuilt from the surviving sockets' state
  h.try_connect(6, a);
  CHECK(h.relay().meta(6) == nullptr);
  h.disconnect(1);  // a close frees a place
  h.connect(7, a);
  CHECK(h.relay().meta(7) != nullptr);
}

TEST_CASE(
    "apply_verified (a host's verify thread): the answers, storage, fan-out and counts of the "
    "EVENT frame") {
  nostr::RelayConfig cfg;
  cfg.rate_limits = nostr::RateLimits::unlimited();
  SimHost h(cfg);
  Signer alice(1);
  h.connect(1);
  h.connect(2);
  h.take(1);  // the AUTH challenges
  h.send(2, "[\"REQ\",\"live\",{\"kinds\":[1]}]");
  h.take(2);
  const auto by_frame = alice.sign(1, 1700000000, {}, "through frame()");
  const auto by_pool = alice.sign(1, 1700000001, {}, "verified elsewhere");
  auto verify = [](const std::string& json) {
    simdjson::dom::parser p;
    auto v = nostr::validate_event_json(p, json, nostr::Limits{});
    REQUIRE(v.ok());
    return std::move(v).value();
  };
  h.send(1, event_frame(by_frame));
  h.apply_verified(1, verify(by_pool.json));
  CHECK(h.take(1) == std::vector<std::string>{"[\"OK\",\"" + by_frame.id + "\",true,\"\"]",
                                              "[\"OK\",\"" + by_pool.id + "\",true,\"\"]"});
  CHECK(h.take(2) == std::vector<std::string>{"[\"EVENT\",\"live\"," + by_frame.json + "]",
                                              "[\"EVENT\",\"live\"," + by_pool.json + "]"});
  // Again: a duplicate, as the frame would say; policy still applies (kind 4 is refused below).
  h.apply_verified(1, verify(by_pool.json));
  CHECK(h.take(1) == std::vector<std::string>{"[\"OK\",\"" + by_pool.id +
                                              "\",true,\"duplicate: already have this event\"]"});
  CHECK(count_rows(h, "events") == 2);
  CHECK(h.relay().metrics_text(0).find("nostr_relay_messages_in_total{type=\"EVENT\"} 3") !=
        std::string::npos);
  // A connection that went away meanwhile: nothing happens.
  h.disconnect(1);
  h.apply_verified(1, verify(alice.sign(1, 1700000002, {}, "late").json));
  CHECK(count_rows(h, "events") == 2);
}

TEST_CASE("apply_verified: write policy after verification is the frame's") {
  nostr::RelayConfig cfg;
  cfg.write_policy.banned_kinds = {4};
  SimHost h(cfg);
  Signer alice(1);
  h.connect(1);
  h.take(1);
  const auto dm = alice.sign(4, 1700000000, {}, "blocked kind");
  simdjson::dom::parser p;
  auto v = nostr::validate_event_json(p, dm.json, nostr::Limits{});
  REQUIRE(v.ok());
  h.send(1, event_frame(dm));
  const auto by_frame = h.take(1);
  h.apply_verified(1, std::move(v).value());
  CHECK(h.take(1) == by_frame);
  REQUIRE(by_frame.size() == 1);
  CHECK(by_frame[0].find("false") != std::string::npos);
}

TEST_CASE(
    "open_local: an in-process client gets typed replies (OK with its code, live EVENTs), no "
    "frames") {
  nostr::RelayConfig cfg;
  cfg.rate_limits = nostr::RateLimits::unlimited();
  SimHost h(cfg);
  struct Sink final : nostr::durable::ReplySink {
    std::vector<std::string>
        got;  // "OK <accepted> <code>" / "EVENT <sub> <raw>" / other: wire text
    void on(const nostr::durable::Reply& r) override {
      if (const auto* ok = std::get_if<nostr::durable::OkReply>(&r))
        got.push_back("OK " + std::to_string(ok->accepted) + " " +
                      std::string(nostr::code_name(ok->why.code)));
      else if (const auto* ev = std::get_if<nostr::durable::EventReply>(&r))
        got.push_back("EVENT " + std::string(ev->sub->str()) + " " + std::string(ev->raw));
      else
        got.push_back(nostr::durable::wire_text(r));
    }
  } sink;
  Signer alice(77);
  REQUIRE(h.relay().open_local(9, sink, h.now));
  CHECK_FALSE(h.relay().open_local(9, sink, h.now));  // already open
  h.send(9, R"(["REQ","mine",{"kinds":[1]}])");
  const auto a = alice.sign(1, h.now - 5, {}, "typed");
  h.send(9, event_frame(a));
  h.send(9, event_frame(a));
  h.connect(2);
  h.send(2, event_frame(alice.sign(1, h.now - 4, {}, "from a socket")));
  CHECK(h.take(9).empty());  // nothing went out as frames
  REQUIRE(sink.got.size() >= 5);
  CHECK(sink.got[0].rfind(R"(["AUTH",)", 0) == 0);
  CHECK(sink.got[1] == R"(["EOSE","mine"])");
  CHECK(sink.got[2] == "OK 1 ok");
  CHECK(sink.got[3] == "EVENT mine " + a.json);  // its own event, live
  CHECK(sink.got[4] == "OK 1 duplicate");
  CHECK(sink.got.back().find("from a socket") != std::string::npos);
}
