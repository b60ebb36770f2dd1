// ConnState (durable/conn_state.h): what survives hibernation with a socket
// round-trips exactly, and reading is lenient about what it cannot use.
#include <doctest/doctest.h>

#include <string>

#include "durable/conn_state.h"

using nostr::durable::ConnState;

namespace {

nostr::Pubkey pk(char c) { return *nostr::Pubkey::from_hex(std::string(64, c)); }

void check_equal(const ConnState& a, const ConnState& b) {
  CHECK(a.meta.ip == b.meta.ip);
  CHECK(a.meta.origin == b.meta.origin);
  CHECK(a.meta.user_agent == b.meta.user_agent);
  CHECK(a.meta.host == b.meta.host);
  CHECK(a.challenge == b.challenge);
  CHECK(a.authed == b.authed);
  CHECK(a.subs_in_local_sql == b.subs_in_local_sql);
  CHECK(a.subs == b.subs);
}

}  // namespace

TEST_CASE("ConnState: to_json then from_json gives the same state, and the same bytes again") {
  ConnState s;
  s.meta = {"2001:db8::1", "https://client.example", "app/1.0 \"quoted\" \xE2\x9C\x93", "relay.example.com:8443"};
  s.challenge = "0123456789abcdef0123456789abcdef";
  s.authed = {pk('a'), pk('b')};
  s.subs = {{"feed", "[{\"kinds\":[1],\"limit\":20}]"}, {"dm \"x\"", "[{\"#p\":[\"" + std::string(64, 'c') + "\"]},{\"ids\":[]}]"}};
  const std::string json = s.to_json();
  const ConnState back = ConnState::from_json(json, 8);
  check_equal(s, back);
  CHECK(back.to_json() == json);

  ConnState in_sql = s;
  in_sql.subs.clear();
  in_sql.subs_in_local_sql = true;
  const ConnState back2 = ConnState::from_json(in_sql.to_json(), 8);
  check_equal(in_sql, back2);
  CHECK(in_sql.to_json().find("\"subs\"") == std::string::npos);
}

TEST_CASE("ConnState: from_json keeps what it can use and drops the rest") {
  CHECK(ConnState::from_json("not json", 8).challenge.empty());
  CHECK(ConnState::from_json("", 8).subs.empty());
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  const ConnState s = ConnState::from_json(
      "{\"challenge\":\"" + std::string(100, 'x') + "\",\"authed\":[\"" + a + "\",\"zz\",7,\"" + b + "\",\"" + c +
          "\"],\"subs\":[[\"ok\",[{}]],[\"no filters\",{}],[5,[{}]]],\"meta\":{\"ip\":3,\"origin\":\"o\"}}",
      2);
  CHECK(s.challenge == std::string(ConnState::kMaxChallenge, 'x'));
  CHECK(s.authed == std::vector<nostr::Pubkey>{pk('a'), pk('b')});  // invalid ones skipped, at most 2
  REQUIRE(s.subs.size() == 1);
  CHECK(s.subs[0].first == "ok");
  CHECK(s.subs[0].second == "[{}]");
  CHECK(s.meta.ip.empty());
  CHECK(s.meta.origin == "o");
}
