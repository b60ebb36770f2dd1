// The NIP-77 component alone (durable/neg_syncs.h): no engine, no SimHost, no
// SQLite. Page results are built by hand in the host's results format.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "../support/results_bytes.h"
#include "core/hex.h"
#include "core/message.h"
#include "core/negentropy.h"
#include "durable/neg_syncs.h"

using nostr::BatchResult;
using nostr::Limits;
using nostr::durable::Action;
using nostr::durable::NegSyncs;
using nostr::durable::Outbox;
using nostr::durable::Send;

using nostr::test::u32;

namespace {

// One statement's rows of (created_at, id) in the results format
// (durable/abi/relay_abi.h "Results").
std::string page_results(const std::vector<nostr::neg::Item>& items) {
  std::string out;
  u32(out, 1);
  u32(out, 0);
  u32(out, static_cast<uint32_t>(items.size()));
  u32(out, 2);
  for (const auto& it : items) {
    const std::string t = std::to_string(it.timestamp);
    const std::string id = nostr::to_hex(it.id.data(), it.id.size());
    u32(out, static_cast<uint32_t>(t.size()));
    out += t;
    u32(out, static_cast<uint32_t>(id.size()));
    out += id;
  }
  return out;
}

std::vector<nostr::neg::Item> items(size_t n, uint8_t seed) {
  std::vector<nostr::neg::Item> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].timestamp = 1700000000 + i;
    v[i].id.fill(0);
    v[i].id[0] = seed;
    v[i].id[1] = static_cast<uint8_t>(i >> 8);
    v[i].id[2] = static_cast<uint8_t>(i);
  }
  return v;
}

struct Client {
  Limits limits;
  nostr::MessageParser parser{limits};
  nostr::NegOpenMessage open(const std::string& sub, const std::string& filter,
                             const std::vector<nostr::neg::Item>& mine) {
    const nostr::neg::Storage storage{std::vector<nostr::neg::Item>(mine)};
    const auto msg = nostr::neg::client_initiate(storage);
    auto r = parser.parse(R"(["NEG-OPEN",")" + sub + "\"," + filter + ",\"" +
                              nostr::to_hex(msg.data(), msg.size()) + "\"]",
                          false);
    REQUIRE(r.ok());
    return std::get<nostr::NegOpenMessage>(std::move(*r.message));
  }
};

std::vector<std::string> frames(Outbox& out) {
  std::vector<std::string> v;
  for (Action& a : out.take())
    if (auto* s = std::get_if<Send>(&a)) v.push_back(s->text);
  return v;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST_CASE("neg syncs: open asks for a page, the page answers NEG-MSG, the budget is given back") {
  Limits lim;
  NegSyncs syncs(lim);
  Client client;
  Outbox out;
  auto read = syncs.open(7, client.open("s", R"({"kinds":[1]})", items(3, 1)), {}, 1700000000, out);
  REQUIRE(read.has_value());
  CHECK(read->page.conn == 7);
  CHECK(read->page.sub == "s");
  CHECK(read->stmt.sql.find("SELECT") != std::string::npos);
  CHECK(syncs.count() == 1);
  CHECK(syncs.bytes() > 0);
  CHECK(frames(out).empty());

  // The relay has 5 records, the client 3 others: one page (short), sealed, answered.
  auto next = syncs.on_page(read->page, BatchResult::decode(true, page_results(items(5, 2))), {},
                            1700000001, out);
  CHECK_FALSE(next.has_value());
  const auto sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-MSG","s",")"));
  const size_t sealed = syncs.bytes();
  CHECK(sealed > 0);
  CHECK(sealed < 20000 * 48);  // the loading reservation was replaced by the sealed size

  // NEG-CLOSE frees it; a page of a closed sync is ignored.
  syncs.close(7, "s");
  CHECK(syncs.count() == 0);
  CHECK(syncs.bytes() == 0);
  CHECK_FALSE(
      syncs.on_page(read->page, BatchResult::decode(true, page_results({})), {}, 1700000002, out)
          .has_value());
  CHECK(frames(out).empty());
}

TEST_CASE(
    "neg syncs: bounds answer NEG-ERR (syncs per connection, records, relay-wide bytes, bad "
    "pages)") {
  Limits lim;
  lim.max_neg_sessions = 2;
  lim.max_neg_records = 4;
  NegSyncs syncs(lim);
  Client client;
  Outbox out;
  const uint64_t now = 1700000000;
  auto a = syncs.open(1, client.open("a", "{}", {}), {}, now, out);
  auto b = syncs.open(1, client.open("b", "{}", {}), {}, now, out);
  REQUIRE(a);
  REQUIRE(b);
  // A third sync on the same connection: refused; another connection may.
  CHECK_FALSE(syncs.open(1, client.open("c", "{}", {}), {}, now, out).has_value());
  auto sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","c","rate-limited: too many negentropy syncs)"));
  // More records than one sync may hold.
  CHECK_FALSE(
      syncs.on_page(a->page, BatchResult::decode(true, page_results(items(5, 3))), {}, now, out));
  sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","a","blocked: this filter matches more than 4)"));
  // A failed read is transient.
  CHECK_FALSE(syncs.on_page(b->page, BatchResult::decode(false, ""), {}, now, out));
  sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","b","error:)"));
  CHECK(syncs.count() == 0);
  CHECK(syncs.bytes() == 0);

  // Relay-wide bytes: room for one loading sync only; an idle, sealed sync is
  // dropped to make room (its client is told), a busy loading one is not.
  Limits small;
  small.max_neg_bytes_total = 20000 * 48 + 100;
  NegSyncs tight(small);
  auto first = tight.open(1, client.open("x", "{}", {}), {}, now, out);
  REQUIRE(first);
  CHECK_FALSE(tight.open(2, client.open("y", "{}", {}), {}, now, out).has_value());
  sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","y","rate-limited: the relay is busy)"));
  CHECK_FALSE(tight.on_page(first->page, BatchResult::decode(true, page_results(items(2, 4))), {},
                            now, out));
  frames(out);  // x's NEG-MSG
  auto later = tight.open(2, client.open("y", "{}", {}), {}, now + 31, out);
  CHECK(later.has_value());
  sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","x","closed: idle negentropy sync dropped)"));
  // The connection closes: its syncs end.
  tight.close_all(2);
  CHECK(tight.count() == 0);
  CHECK(tight.bytes() == 0);
}

TEST_CASE("neg syncs: NEG-MSG before the answer, or for no sync, is refused") {
  Limits lim;
  NegSyncs syncs(lim);
  Client client;
  Outbox out;
  auto read = syncs.open(1, client.open("s", "{}", {}), {}, 1700000000, out);
  REQUIRE(read);
  nostr::NegMsgMessage msg{*nostr::SubId::make("s", 64), {0x61}};
  syncs.on_msg(1, msg, 1700000000, out);
  auto sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","s","invalid: NEG-MSG before the relay answered)"));
  syncs.on_msg(1, msg, 1700000000, out);
  sent = frames(out);
  REQUIRE(sent.size() == 1);
  CHECK(starts_with(sent[0], R"(["NEG-ERR","s","closed: no negentropy sync is open)"));
}
