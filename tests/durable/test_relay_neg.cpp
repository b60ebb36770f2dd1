// NIP-77 through the engine on real SQLite: a client (core/negentropy's
// client side) reconciles with the relay's stored events page by page; the
// bounds (records per sync, syncs per connection, relay-wide bytes) answer
// with NEG-ERR; sessions end on NEG-CLOSE, errors, replacement and eviction.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"
#include "core/hex.h"
#include "core/negentropy.h"

using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }

nostr::neg::Item item_of(const nostr::test::SignedEvent& e, uint64_t t) {
  nostr::neg::Item it;
  it.timestamp = t;
  REQUIRE(nostr::decode_lower_hex(e.id, it.id.data(), it.id.size()));
  return it;
}

std::string hex(const std::vector<uint8_t>& b) { return nostr::to_hex(b.data(), b.size()); }

// Runs a whole sync of `mine` against the relay on `conn` for `filter`; returns
// {have, need} as hex id sets, or the NEG-ERR frame in `error`.
struct SyncResult {
  std::set<std::string> have, need;
  std::string error;
  size_t rounds = 0;
};
SyncResult sync(SimHost& h, uint32_t conn, const std::string& sub, const std::string& filter,
                const std::vector<nostr::neg::Item>& mine) {
  SyncResult out;
  const nostr::neg::Storage storage{std::vector<nostr::neg::Item>(mine)};
  std::string frame = "[\"NEG-OPEN\",\"" + sub + "\"," + filter + ",\"" +
                      hex(nostr::neg::client_initiate(storage)) + "\"]";
  for (;;) {
    h.send(conn, frame);
    const auto got = h.take(conn);
    REQUIRE(got.size() == 1);
    if (got[0].rfind("[\"NEG-ERR\"", 0) == 0) {
      out.error = got[0];
      return out;
    }
    const std::string prefix = "[\"NEG-MSG\",\"" + sub + "\",\"";
    REQUIRE(got[0].rfind(prefix, 0) == 0);
    auto msg = nostr::neg::message_from_hex(
        got[0].substr(prefix.size(), got[0].size() - prefix.size() - 2));
    REQUIRE(msg.ok());
    std::vector<nostr::neg::Id> have, need;
    auto next = nostr::neg::client_reconcile(storage, msg.value(), have, need);
    REQUIRE(next.ok());
    for (const auto& id : have) out.have.insert(nostr::to_hex(id.data(), id.size()));
    for (const auto& id : need) out.need.insert(nostr::to_hex(id.data(), id.size()));
    ++out.rounds;
    if (next->empty()) {
      h.send(conn, "[\"NEG-CLOSE\",\"" + sub + "\"]");
      CHECK(h.take(conn).empty());
      return out;
    }
    frame = "[\"NEG-MSG\",\"" + sub + "\",\"" + hex(next.value()) + "\"]";
  }
}

nostr::RelayConfig config() {
  nostr::RelayConfig cfg;
  cfg.rate_limits = nostr::RateLimits::unlimited();
  cfg.relay_url = "wss://relay.example.com";
  return cfg;
}

}  // namespace

TEST_CASE(
    "negentropy: a client learns exactly what it lacks and what the relay lacks, across D1 pages") {
  SimHost h(config());
  Signer alice(801), bob(802);
  h.connect(1);
  h.take(1);
  std::vector<nostr::neg::Item> client;
  std::set<std::string> relay_only, client_only;
  // 45,000 stored events (three D1 pages of records), most also at the client.
  std::string sql = "BEGIN;";
  for (int i = 0; i < 45000; ++i) {
    std::array<uint8_t, 32> id{};
    for (size_t b = 0; b < 32; ++b)
      id[b] = static_cast<uint8_t>((i * 131 + b * 7 + (i >> 8)) * 2654435761u >> 24);
    id[0] = static_cast<uint8_t>(i);
    id[1] = static_cast<uint8_t>(i >> 8);
    id[2] = static_cast<uint8_t>(i >> 16);
    const std::string hex_id = nostr::to_hex(id.data(), id.size());
    const uint64_t t = 1000000 + static_cast<uint64_t>(i / 3);
    sql += "INSERT INTO events (id, pubkey, created_at, kind, raw) VALUES ('" + hex_id + "','" +
           alice.pubkey() + "'," + std::to_string(t) + ",1,'{}');";
    if (i % 97 == 0) {
      relay_only.insert(hex_id);
    } else {
      nostr::neg::Item it;
      it.timestamp = t;
      it.id = id;
      client.push_back(it);
    }
  }
  REQUIRE(h.d1().exec_script(sql + "COMMIT;"));
  // Events only the client has, and one of another author the filter leaves out.
  for (int i = 0; i < 50; ++i) {
    const auto e =
        alice.sign(1, 1000000 + static_cast<uint64_t>(i), {}, "client only " + std::to_string(i));
    client.push_back(item_of(e, 1000000 + static_cast<uint64_t>(i)));
    client_only.insert(e.id);
  }
  const auto bobs = bob.sign(1, h.now, {}, "bob's");
  h.send(1, event_frame(bobs));
  h.take(1);

  const size_t batches = h.d1_batches_run;
  const auto r = sync(h, 1, "n", R"({"authors":[")" + alice.pubkey() + R"("]})", client);
  REQUIRE(r.error.empty());
  CHECK(r.need == relay_only);
  CHECK(r.have == client_only);
  CHECK(h.d1_batches_run - batches == 3);  // pages of 20,000 records
  CHECK(r.rounds >= 2);
}

TEST_CASE("negentropy: bounds and session life answer with NEG-ERR") {
  nostr::RelayConfig cfg = config();
  cfg.limits.max_neg_records = 100;
  cfg.limits.max_neg_sessions = 1;
  cfg.limits.max_neg_bytes_total = 20000 * 48 * 2;
  SimHost h(cfg);
  Signer alice(811), wrapper(812), bob(813);
  h.connect(1);
  h.connect(2);
  h.take(1);
  h.take(2);
  std::vector<nostr::neg::Item> none;
  for (int i = 0; i < 101; ++i)
    h.send(1, event_frame(alice.sign(1, h.now - 1000 + static_cast<uint64_t>(i), {},
                                     "n" + std::to_string(i))));
  h.take(1);
  // More records than one sync may hold.
  auto big = sync(h, 1, "big", "{}", none);
  CHECK(big.error.rfind(R"(["NEG-ERR","big","blocked: this filter matches more than 100 events)",
                        0) == 0);
  // A limit selects what a REQ would return (newest first), so it may sync part of a big set.
  auto limited = sync(h, 1, "lim", R"({"kinds":[1],"limit":50})", none);
  REQUIRE(limited.error.empty());
  h.send(1, R"(["REQ","r",{"kinds":[1],"limit":50}])");
  std::set<std::string> newest;
  for (const auto& f : h.take(1)) {
    if (f.rfind("[\"EVENT\"", 0) == 0) newest.insert(f.substr(f.find("\"id\":\"") + 6, 64));
  }
  CHECK(newest.size() == 50);
  CHECK(limited.need == newest);
  // Within the bound: fine.
  auto small = sync(h, 1, "small", R"({"since":)" + std::to_string(h.now - 950) + "}", none);
  CHECK(small.error.empty());
  CHECK(small.need.size() == 51);

  // Gift wraps to someone else are never part of a sync.
  const auto wrap = wrapper.sign(1059, h.now, {{"p", bob.pubkey()}}, "sealed");
  h.send(1, event_frame(wrap));
  h.take(1);
  auto wraps = sync(h, 2, "w", R"({"kinds":[1059],"#p":[")" + bob.pubkey() + R"("]})", none);
  CHECK(
      wraps.error ==
      R"J(["NEG-ERR","w","auth-required: gift wraps (kind 1059) are only served to their recipients: authenticate (NIP-42)"])J");

  // One open sync per connection here; NEG-MSG for an unknown id; a reused id replaces.
  const nostr::neg::Storage empty{std::vector<nostr::neg::Item>{}};
  const std::string init = hex(nostr::neg::client_initiate(empty));
  h.send(2, R"(["NEG-OPEN","a",{"kinds":[7]},")" + init + "\"]");
  CHECK(h.take(2).at(0).rfind(R"(["NEG-MSG","a",")", 0) == 0);
  h.send(2, R"(["NEG-OPEN","b",{"kinds":[7]},")" + init + "\"]");
  CHECK(
      h.take(2) ==
      std::vector<std::string>{
          R"J(["NEG-ERR","b","rate-limited: too many negentropy syncs open on this connection (limit is 1)"])J"});
  h.send(2, R"(["NEG-OPEN","a",{"kinds":[6]},")" + init + "\"]");  // replaces "a"
  CHECK(h.take(2).at(0).rfind(R"(["NEG-MSG","a",")", 0) == 0);
  h.send(2, R"(["NEG-MSG","zz","61"])");
  CHECK(
      h.take(2) ==
      std::vector<std::string>{
          R"J(["NEG-ERR","zz","closed: no negentropy sync is open with this id (it may have been dropped); open it again"])J"});
  // A malformed NEG-MSG ends the sync.
  h.send(2, R"(["NEG-MSG","a","6102"])");
  CHECK(h.take(2).at(0).rfind(R"(["NEG-ERR","a","invalid: negentropy:)", 0) == 0);
  h.send(2, R"(["NEG-MSG","a","61"])");
  CHECK(h.take(2).at(0).rfind(R"(["NEG-ERR","a","closed:)", 0) == 0);
  // Hibernation drops syncs (memory only): the client is told to open again.
  h.send(2, R"(["NEG-OPEN","c",{"kinds":[7]},")" + init + "\"]");
  h.take(2);
  h.hibernate_and_wake();
  h.send(2, R"(["NEG-MSG","c","61"])");
  CHECK(h.take(2).at(0).rfind(R"(["NEG-ERR","c","closed:)", 0) == 0);
}
