// Rate limits as a component (durable/rate_limits.h), alone: no engine, no
// SimHost, no SQLite. The saved rows are built by hand.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "../support/results_bytes.h"
#include "durable/rate_limits.h"

using nostr::BatchResult;
using nostr::Pubkey;
using nostr::RateLimits;
using nostr::durable::ConnBuckets;
using nostr::durable::LocalSql;
using nostr::durable::Metrics;
using nostr::durable::Outbox;
using nostr::durable::RateLimiter;

using nostr::test::u32;

namespace {

Pubkey pubkey(char c) { return *Pubkey::from_hex(std::string(64, c)); }

std::vector<std::string> saved_statements(Outbox& out) {
  std::vector<std::string> stmts;
  for (auto& a : out.take())
    if (auto* l = std::get_if<LocalSql>(&a)) {
      std::string json;  // the statement as the wasm ABI carries it
      nostr::append_statement_json(json, l->stmt);
      stmts.push_back(std::move(json));
    }
  return stmts;
}

// One result set of (key, milli, at) rows.
std::string bucket_rows(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  u32(out, 1);
  u32(out, 0);
  u32(out, static_cast<uint32_t>(rows.size()));
  u32(out, 3);
  for (const auto& row : rows)
    for (const std::string& cell : row) {
      u32(out, static_cast<uint32_t>(cell.size()));
      out += cell;
    }
  return out;
}

}  // namespace

TEST_CASE("RateLimiter: a connection's burst, then its address's bucket across connections") {
  RateLimits l = RateLimits::unlimited();
  l.event_per_connection = {60, 2};
  l.event_per_ip = {60, 3};
  Metrics m;
  RateLimiter r(l, m);
  ConnBuckets a, b;
  CHECK_FALSE(r.charge_event({1, a, "10.0.0.1"}, 100));
  CHECK_FALSE(r.charge_event({1, a, "10.0.0.1"}, 100));
  const auto conn_full = r.charge_event({1, a, "10.0.0.1"}, 100);
  REQUIRE(conn_full);
  CHECK(conn_full->wire_message().rfind("rate-limited: ", 0) == 0);
  CHECK(conn_full->wire_message().find("connection") != std::string::npos);
  // Another connection from the same address: one token left for the address.
  CHECK_FALSE(r.charge_event({2, b, "10.0.0.1"}, 100));
  const auto addr_full = r.charge_event({2, b, "10.0.0.1"}, 100);
  REQUIRE(addr_full);
  CHECK(addr_full->wire_message().find("address") != std::string::npos);
  // A refund (an exempt verified author) gives the address's token back.
  r.refund_event({2, b, "10.0.0.1"}, 100);
  CHECK_FALSE(r.charge_event({2, b, "10.0.0.1"}, 100));
  // A minute later everything refilled.
  CHECK_FALSE(r.charge_event({1, a, "10.0.0.1"}, 160));
}

TEST_CASE("RateLimiter: an IPv6 client is one address across its /64") {
  RateLimits l = RateLimits::unlimited();
  l.req_per_ip = {60, 1};
  Metrics m;
  RateLimiter r(l, m);
  ConnBuckets a, b;
  CHECK_FALSE(r.charge_req({1, a, "2001:db8::1"}, {}, 5));
  CHECK(r.charge_req({2, b, "2001:db8::ffff:2"}, {}, 5));
}

TEST_CASE("RateLimiter: pubkey buckets for verified authors and logged-in readers") {
  RateLimits l = RateLimits::unlimited();
  l.event_per_pubkey = {60, 1};
  l.req_per_pubkey = {60, 1};
  Metrics m;
  RateLimiter r(l, m);
  ConnBuckets a;
  const Pubkey alice = pubkey('a');
  CHECK_FALSE(r.charge_author({1, a, ""}, alice, 0));
  const auto why = r.charge_author({1, a, ""}, alice, 0);
  REQUIRE(why);
  CHECK(why->wire_message().find("pubkey") != std::string::npos);
  CHECK_FALSE(r.charge_author({1, a, ""}, pubkey('b'), 0));
  const std::vector<Pubkey> authed{alice};
  CHECK_FALSE(r.charge_req({1, a, ""}, authed, 0));
  CHECK(r.charge_req({1, a, ""}, authed, 0));
}

TEST_CASE("RateLimiter: past max_refusals a minute the connection is to be closed; both counted") {
  RateLimits l = RateLimits::unlimited();
  l.max_refusals = 3;
  Metrics m;
  RateLimiter r(l, m);
  ConnBuckets a;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(r.refused({1, a, ""}, 0, /*rate=*/true));
  const auto close = r.refused({1, a, ""}, 0, /*rate=*/false);
  REQUIRE(close);
  CHECK(close->wire_message().find("fail verification") != std::string::npos);
  CHECK(m.rate_limited == 3);
  CHECK(m.rate_disconnects == 1);
}

TEST_CASE("RateLimiter: changes are saved kFlushDelay later; saved rows come back at a wake") {
  RateLimits l = RateLimits::unlimited();
  l.event_per_ip = {1, 5};  // refills slowly: worth a row
  l.event_per_connection = {60, 60};
  Metrics m;
  Outbox out;
  std::vector<std::string> rows;
  {
    RateLimiter r(l, m);
    CHECK_FALSE(r.next_deadline());
    ConnBuckets a;
    for (int i = 0; i < 5; ++i) CHECK_FALSE(r.charge_event({7, a, "10.0.0.9"}, 1000));
    REQUIRE(r.next_deadline());
    CHECK(*r.next_deadline() == 1000 + RateLimiter::kFlushDelay);
    CHECK(r.on_timer(1000, out).empty());  // not due yet
    const auto conns = r.on_timer(1001, out);
    CHECK(conns == std::vector<nostr::durable::ConnId>{7});  // its ConnState is saved again
    CHECK_FALSE(r.next_deadline());
    rows = saved_statements(out);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].find("INSERT OR REPLACE INTO buckets") != std::string::npos);
    CHECK(rows[0].find("ei:10.0.0.9") != std::string::npos);
  }
  // A new object life: the address's empty bucket comes back from its row.
  RateLimiter r(l, m);
  r.on_saved(BatchResult::decode(
      true,
      bucket_rows({{"ei:10.0.0.9", "0", "1000"}, {"zz:junk", "1", "1"}, {"ei:x", "NaN", "1"}})));
  CHECK(r.keys() == 1);
  ConnBuckets fresh;
  CHECK(r.charge_event({8, fresh, "10.0.0.9"}, 1001));
  r.on_saved(BatchResult::decode(true, "not results"));  // ignored
  CHECK(r.keys() == 1);
}

TEST_CASE("RateLimiter: a closed connection's state is not saved again") {
  const RateLimits l;
  Metrics m;
  RateLimiter r(l, m);
  Outbox out;
  ConnBuckets a, b;
  CHECK_FALSE(r.charge_req({1, a, ""}, {}, 0));
  CHECK_FALSE(r.charge_req({2, b, ""}, {}, 0));
  r.forget(1);
  CHECK(r.on_timer(RateLimiter::kFlushDelay, out) == std::vector<nostr::durable::ConnId>{2});
}
