// NIP-17/59: gift wraps (kind 1059) reach only a connection authenticated as
// one of their p-tagged recipients: stored answers, live fan-out and COUNT.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }

size_t count_events(const std::vector<std::string>& frames, const std::string& sub) {
  size_t n = 0;
  for (const auto& f : frames) n += f.rfind("[\"EVENT\",\"" + sub + "\",", 0) == 0;
  return n;
}

void login(SimHost& h, uint32_t conn, const Signer& who, const nostr::RelayConfig& cfg) {
  const auto auth = who.sign(22242, h.now, {{"relay", cfg.relay_url}, {"challenge", "challenge-" + std::to_string(conn)}}, "");
  h.send(conn, "[\"AUTH\"," + auth.json + "]");
  REQUIRE(h.take(conn) == std::vector<std::string>{"[\"OK\",\"" + auth.id + "\",true,\"\"]"});
}

}  // namespace

TEST_CASE("gift wraps: stored, live and counted only for their authenticated recipients") {
  nostr::RelayConfig cfg;
  cfg.relay_url = "wss://relay.example.com";
  SimHost h(cfg);
  Signer wrapper(500), bob(501), alice(502);
  h.connect(1);  // anonymous
  h.connect(2);  // bob
  h.connect(3);  // alice
  for (uint32_t c : {1u, 2u, 3u}) h.take(c);
  login(h, 2, bob, cfg);
  login(h, 3, alice, cfg);
  const auto wrap = wrapper.sign(1059, h.now, {{"p", bob.pubkey()}}, "ciphertext");
  const auto note = wrapper.sign(1, h.now, {{"p", bob.pubkey()}}, "public");
  h.send(1, event_frame(wrap));
  h.send(1, event_frame(note));
  h.take(1);

  // Stored: a REQ for everything sees the wrap only as bob.
  for (uint32_t c : {1u, 2u, 3u}) h.send(c, R"(["REQ","all",{}])");
  CHECK(count_events(h.take(1), "all") == 1);
  CHECK(count_events(h.take(2), "all") == 2);
  CHECK(count_events(h.take(3), "all") == 1);
  // A REQ only for wraps: the anonymous connection is told to authenticate,
  // alice gets nothing of bob's.
  h.send(1, R"(["REQ","w",{"kinds":[1059]}])");
  CHECK(h.take(1) == std::vector<std::string>{
                         R"J(["CLOSED","w","auth-required: gift wraps (kind 1059) are only served to their recipients: authenticate (NIP-42)"])J"});
  h.send(3, R"(["REQ","w",{"kinds":[1059],"#p":[")" + bob.pubkey() + R"("]}])");
  CHECK(h.take(3) == std::vector<std::string>{R"(["EOSE","w"])"});
  h.send(2, R"(["REQ","w",{"kinds":[1059]}])");
  CHECK(count_events(h.take(2), "w") == 1);
  // COUNT: nobody counts others' wraps.
  h.send(3, R"(["COUNT","c",{"kinds":[1059,1]}])");
  CHECK(h.take(3) == std::vector<std::string>{R"(["COUNT","c",{"count":1}])"});
  h.send(2, R"(["COUNT","c",{"kinds":[1059,1]}])");
  CHECK(h.take(2) == std::vector<std::string>{R"(["COUNT","c",{"count":2}])"});

  // Live: a new wrap goes to bob's open subscriptions only.
  const auto live = wrapper.sign(1059, h.now + 1, {{"p", bob.pubkey()}}, "more ciphertext");
  h.send(3, event_frame(live));
  CHECK(h.take(3) == std::vector<std::string>{"[\"OK\",\"" + live.id + "\",true,\"\"]"});  // no delivery to alice
  CHECK(count_events(h.take(1), "all") == 0);
  const auto to_bob = h.take(2);
  CHECK(count_events(to_bob, "all") == 1);
  CHECK(count_events(to_bob, "w") == 1);
}
