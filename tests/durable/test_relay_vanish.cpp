// NIP-62 request to vanish through the engine on real SQLite: what is deleted
// (and what is not), refusing re-publication, honouring it whatever the
// author's status, and bounded steps that continue after a restart.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }
std::string ok(const nostr::test::SignedEvent& e, bool accepted, const std::string& msg = "") {
  return "[\"OK\",\"" + e.id + "\"," + (accepted ? "true" : "false") + ",\"" + msg + "\"]";
}

size_t count(SimHost& h, const std::string& sql) {
  std::string out, err;
  REQUIRE_MESSAGE(h.d1().run_one({sql, {}}, out, err), err);
  return std::stoul(out.substr(20));
}

nostr::RelayConfig config() {
  nostr::RelayConfig cfg;
  cfg.relay_url = "wss://relay.example.com";
  cfg.rate_limits = nostr::RateLimits::unlimited();
  return cfg;
}

constexpr const char* kVanished =
    "blocked: its author asked this relay to delete everything up to this time (NIP-62)";

}  // namespace

TEST_CASE(
    "request to vanish: everything of its author up to its time goes, gift wraps to it too; "
    "nothing comes back") {
  SimHost h(config());
  Signer alice(701), bob(702), wrapper(703);
  h.connect(1);
  h.take(1);
  const uint64_t t = h.now - 100;
  const auto note = alice.sign(1, t, {}, "searchable words about puffins");
  const auto article = alice.sign(30023, t, {{"d", "a"}}, "long form");
  const auto doomed = alice.sign(1, t, {}, "to be deleted");
  const auto deletion = alice.sign(5, t + 1, {{"e", doomed.id}}, "");
  const auto wrap = wrapper.sign(1059, t, {{"p", alice.pubkey()}}, "sealed");
  const auto bobs = bob.sign(1, t, {{"p", alice.pubkey()}}, "bob mentions alice");
  for (const auto& e : {note, article, doomed, deletion, wrap, bobs}) h.send(1, event_frame(e));
  h.take(1);
  REQUIRE(count(h, "SELECT COUNT(*) FROM events") == 5);
  REQUIRE(count(h, "SELECT COUNT(*) FROM deletions") == 1);

  // Another relay's request is refused; this relay's (by URL or ALL_RELAYS) is honoured.
  const auto elsewhere = alice.sign(62, h.now, {{"relay", "wss://other.example.com"}}, "");
  h.send(1, event_frame(elsewhere));
  CHECK(h.take(1) == std::vector<std::string>{
                         ok(elsewhere, false,
                            "invalid: this request to vanish (NIP-62) has no relay tag naming this "
                            "relay or ALL_RELAYS")});
  const auto vanish =
      alice.sign(62, h.now - 50, {{"relay", "wss://RELAY.example.com/"}}, "GDPR request");
  const auto later = alice.sign(1, h.now - 10, {}, "after the request");
  h.send(1, event_frame(later));
  h.send(1, event_frame(vanish));
  CHECK(h.take(1) == std::vector<std::string>{ok(later, true), ok(vanish, true)});

  // Gone: her events up to the request (NIP-09 requests and tombstones too),
  // the gift wrap addressed to her, their tags and search index rows.
  CHECK(count(h, "SELECT COUNT(*) FROM events WHERE pubkey = '" + alice.pubkey() + "'") ==
        2);  // later + the request
  CHECK(count(h, "SELECT COUNT(*) FROM events WHERE id = '" + wrap.id + "'") == 0);
  CHECK(count(h, "SELECT COUNT(*) FROM events WHERE id = '" + bobs.id + "'") ==
        1);  // others' events stay
  CHECK(count(h, "SELECT COUNT(*) FROM deletions") == 0);
  CHECK(count(h, "SELECT COUNT(*) FROM tags WHERE event_id NOT IN (SELECT id FROM events)") == 0);
  CHECK(count(h, "SELECT COUNT(*) FROM events_fts WHERE events_fts MATCH 'puffins'") == 0);
  CHECK(count(h, "SELECT COUNT(*) FROM vanish WHERE pending = 0") == 1);

  // Nothing up to its time is accepted again, not even from memory's recent ids.
  for (const auto& e : {note, article, deletion}) {
    h.send(1, event_frame(e));
    CHECK(h.take(1) == std::vector<std::string>{ok(e, false, kVanished)});
  }
  const auto newer = alice.sign(1, h.now, {}, "starting over");
  h.send(1, event_frame(newer));
  CHECK(h.take(1) == std::vector<std::string>{ok(newer, true)});
  h.send(1, R"(["REQ","s",{"authors":[")" + alice.pubkey() + R"("]}])");
  CHECK(h.take(1).size() == 4);  // newer, later, the request, EOSE
}

TEST_CASE("request to vanish is honoured whatever its author's status") {
  nostr::RelayConfig cfg = config();
  Signer alice(711), admitted(712);
  cfg.write_policy.restricted_writes = true;
  cfg.write_policy.allowed_pubkeys = {*nostr::Pubkey::from_hex(admitted.pubkey())};
  cfg.write_policy.banned_kinds = {62};
  SimHost h(cfg);
  h.connect(1);
  h.take(1);
  const auto note = alice.sign(1, h.now, {}, "not admitted");
  h.send(1, event_frame(note));
  CHECK(h.take(1) ==
        std::vector<std::string>{
            ok(note, false, "restricted: only admitted pubkeys may publish to this relay")});
  const auto vanish = alice.sign(62, h.now, {{"relay", "ALL_RELAYS"}}, "");
  h.send(1, event_frame(vanish));
  CHECK(h.take(1) == std::vector<std::string>{ok(vanish, true)});
}

TEST_CASE("request to vanish: bounded steps, continued after a restart midway") {
  SimHost h(config());
  Signer alice(721);
  h.connect(1);
  h.take(1);
  const size_t n = 2 * nostr::durable::Maintenance::kVanishBatch + 100;
  for (size_t i = 0; i < n; ++i) {
    h.send(1, event_frame(alice.sign(1, h.now - 1000 + i % 500, {}, "n" + std::to_string(i))));
    h.take(1);
  }
  REQUIRE(count(h, "SELECT COUNT(*) FROM events") == n);

  const auto vanish = alice.sign(62, h.now, {{"relay", "ALL_RELAYS"}}, "");
  h.send_async(1, event_frame(vanish));
  h.execute_first_and_hold();  // the write batch: stored
  h.release_held();            // OK true; the first step is asked for
  CHECK(h.take(1) == std::vector<std::string>{ok(vanish, true)});
  REQUIRE(h.pending_d1() == 1);
  h.execute_first_and_hold();  // the first step ran in D1; then the object is evicted
  CHECK(count(h, "SELECT COUNT(*) FROM events") == n + 1 - nostr::durable::Maintenance::kVanishBatch);
  CHECK(count(h, "SELECT COUNT(*) FROM vanish WHERE pending = 1") == 1);
  h.hibernate_and_wake();  // a new object: it continues the pending request
  CHECK(count(h, "SELECT COUNT(*) FROM events") == 1);  // the request alone
  CHECK(count(h, "SELECT COUNT(*) FROM vanish WHERE pending = 1") == 0);
}
