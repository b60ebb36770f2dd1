// Management as a component (durable/management.h), alone: no engine, no
// SimHost, no SQLite. The store's answers are built by hand.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "../support/nip98_token.h"
#include "../support/results_bytes.h"
#include "../support/signer.h"
#include "durable/management.h"

using nostr::BatchResult;
using nostr::RelayConfig;
using nostr::durable::Management;
using nostr::durable::Metrics;
using nostr::test::nip98_header;
using nostr::test::Signer;

using nostr::test::u32;

namespace {

const std::string kUrl = "https://relay.example.com/";

struct Sink final : Management::Sink {
  std::vector<Management::Ticket> stores;
  std::vector<std::pair<uint32_t, uint32_t>> replies;  // (request, status)
  std::vector<std::string> bodies, logs;
  void store(Management::Ticket t, std::vector<nostr::SqlStatement> stmts) override {
    CHECK_FALSE(stmts.empty());
    stores.push_back(std::move(t));
  }
  void reply(uint32_t request, uint32_t status, std::string body) override {
    replies.emplace_back(request, status);
    bodies.push_back(std::move(body));
  }
  void log(std::string line) override { logs.push_back(std::move(line)); }
  template <typename T>
  size_t count() const {
    size_t n = 0;
    for (const auto& t : stores) n += std::holds_alternative<T>(t);
    return n;
  }
};

// plan_management_load's answer: the version, then six empty lists.
std::string state_rows(const std::string& version) {
  std::string out;
  u32(out, 7);
  u32(out, 0);
  u32(out, 1);
  u32(out, 1);
  u32(out, static_cast<uint32_t>(version.size()));
  out += version;
  for (int i = 0; i < 6; ++i) {
    u32(out, 0);
    u32(out, 0);
    u32(out, 2);
  }
  return out;
}

// A result set of no rows per statement (what a change batch answers).
std::string empty_results(uint32_t n) {
  std::string out;
  u32(out, n);
  for (uint32_t i = 0; i < n; ++i) {
    u32(out, 0);
    u32(out, 0);
    u32(out, 0);
  }
  return out;
}

RelayConfig with_admin(const Signer& admin) {
  RelayConfig c;
  c.relay_url = "wss://relay.example.com";
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin.pubkey())};
  return c;
}

}  // namespace

TEST_CASE("Management: no administrators is 404; an oversized body is 413") {
  const RelayConfig c;
  Metrics m;
  Management mg(c, m);
  Sink s;
  mg.request(1, kUrl, "", "{}", 100, s);
  REQUIRE(s.replies.size() == 1);
  CHECK(s.replies[0].second == 404);
  CHECK(m.admin_requests == 1);
  const Signer admin(9);
  const RelayConfig with = with_admin(admin);
  Management mg2(with, m);
  mg2.request(2, kUrl, "", std::string(nostr::kMaxAdminBody + 1, ' '), 100, s);
  CHECK(s.replies.back() == std::pair<uint32_t, uint32_t>{2, 413});
  CHECK(s.stores.empty());
}

TEST_CASE(
    "Management: requests wait (bounded) while the state loads; a failed first load answers 503") {
  const Signer admin(9);
  const RelayConfig c = with_admin(admin);
  Metrics m;
  Management mg(c, m);
  Sink s;
  mg.load(100, s);
  CHECK(s.count<Management::Load>() == 1);
  const std::string body = R"({"method":"supportedmethods","params":[]})";
  for (uint32_t i = 1; i <= Management::kMaxWaiting + 1; ++i)
    mg.request(i, kUrl, nip98_header(admin, kUrl, body, 100), body, 100, s);
  // The room holds kMaxWaiting; the next is told to come back.
  REQUIRE(s.replies.size() == 1);
  CHECK(s.replies[0] == std::pair<uint32_t, uint32_t>{Management::kMaxWaiting + 1, 503});
  CHECK(mg.check_due(100) == false);  // the load is in flight
  CHECK(mg.on_loaded(BatchResult::decode(false, ""), 101, s) == Management::Loaded::failed);
  CHECK(s.replies.size() == 1 + Management::kMaxWaiting);
  CHECK(s.replies.back().second == 503);
  CHECK_FALSE(mg.loaded());
  // With writes waiting, the load is tried again kCheck seconds later.
  CHECK_FALSE(mg.retry_at(false));
  REQUIRE(mg.retry_at(true));
  CHECK(*mg.retry_at(true) == 101 + Management::kCheck);
}

TEST_CASE("Management: a loaded state runs waiting requests; a replayed authorization is 401") {
  const Signer admin(9), stranger(10);
  const RelayConfig c = with_admin(admin);
  Metrics m;
  Management mg(c, m);
  Sink s;
  mg.load(100, s);
  const std::string body =
      R"({"method":"banpubkey","params":[")" + stranger.pubkey() + R"(","spam"]})";
  const std::string auth = nip98_header(admin, kUrl, body, 100);
  mg.request(1, kUrl, auth, body, 100, s);
  CHECK(s.count<Management::Request>() == 0);
  CHECK(mg.on_loaded(BatchResult::decode(true, state_rows("3")), 100, s) ==
        Management::Loaded::first);
  CHECK(mg.state().version == 3);
  REQUIRE(s.count<Management::Request>() == 1);
  // A change is applied to the state when its batch commits, and handed back.
  auto done = mg.on_request_done(std::get<Management::Request>(s.stores.back()),
                                 BatchResult::decode(true, empty_results(8)), s);
  REQUIRE(done);
  CHECK(done->request == 1);
  CHECK(mg.state().pubkeys.count(*nostr::Pubkey::from_hex(stranger.pubkey())) == 1);
  // The same authorization again: refused, counted.
  mg.request(2, kUrl, auth, body, 101, s);
  REQUIRE_FALSE(s.replies.empty());
  CHECK(s.replies.back() == std::pair<uint32_t, uint32_t>{2, 401});
  CHECK(m.admin_refused == 1);
  // A stranger's signature: 401.
  mg.request(3, kUrl, nip98_header(stranger, kUrl, body, 101), body, 101, s);
  CHECK(s.replies.back() == std::pair<uint32_t, uint32_t>{3, 401});
}

TEST_CASE("Management: a storage failure is 500 and changes nothing; lists are answered here") {
  const Signer admin(9), stranger(10);
  const RelayConfig c = with_admin(admin);
  Metrics m;
  Management mg(c, m);
  Sink s;
  mg.load(100, s);
  REQUIRE(mg.on_loaded(BatchResult::decode(true, state_rows("1")), 100, s) ==
          Management::Loaded::first);
  const std::string ban = R"({"method":"banpubkey","params":[")" + stranger.pubkey() + R"("]})";
  mg.request(1, kUrl, nip98_header(admin, kUrl, ban, 100), ban, 100, s);
  REQUIRE(s.count<Management::Request>() == 1);
  CHECK_FALSE(mg.on_request_done(std::get<Management::Request>(s.stores.back()),
                                 BatchResult::decode(false, ""), s));
  CHECK(s.replies.back() == std::pair<uint32_t, uint32_t>{1, 500});
  CHECK(mg.state().pubkeys.empty());
  const std::string list = R"({"method":"listbannedpubkeys","params":[]})";
  mg.request(2, kUrl, nip98_header(admin, kUrl, list, 100), list, 100, s);
  REQUIRE(s.count<Management::Request>() == 2);
  CHECK_FALSE(mg.on_request_done(std::get<Management::Request>(s.stores.back()),
                                 BatchResult::decode(true, empty_results(1)), s));
  CHECK(s.replies.back() == std::pair<uint32_t, uint32_t>{2, 200});
  CHECK(s.bodies.back().find("\"result\":[]") != std::string::npos);
}

TEST_CASE("Management: a check reads the version when loaded; a new version reloads") {
  const Signer admin(9);
  const RelayConfig c = with_admin(admin);
  Metrics m;
  Management mg(c, m);
  Sink s;
  mg.load(100, s);
  REQUIRE(mg.on_loaded(BatchResult::decode(true, state_rows("1")), 100, s) ==
          Management::Loaded::first);
  CHECK_FALSE(mg.check_due(104));
  REQUIRE(mg.check_due(100 + Management::kCheck));
  mg.check(105, s);
  CHECK(s.count<Management::Version>() == 1);
  std::string v;  // one row, one column: "2"
  u32(v, 1);
  u32(v, 0);
  u32(v, 1);
  u32(v, 1);
  u32(v, 1);
  v += "2";
  mg.on_version(BatchResult::decode(true, v), 105, s);
  CHECK(s.count<Management::Load>() == 2);
  CHECK(mg.on_loaded(BatchResult::decode(true, state_rows("2")), 106, s) ==
        Management::Loaded::reloaded);
  mg.on_version(BatchResult::decode(false, ""), 111, s);  // a failed check is logged, nothing else
  CHECK_FALSE(s.logs.empty());
  CHECK(s.count<Management::Load>() == 2);
}
