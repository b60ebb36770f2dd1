// Completions and timers as typed values: a completion the engine did not ask
// for (an unknown token, or the wrong kind for its token) is a host error,
// counted and logged, that changes nothing; the timer table arms, clears and
// orders timed work by kind.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "../support/results_bytes.h"
#include "core/results.h"
#include "durable/relay.h"
#include "durable/timers.h"

using nostr::durable::Action;
using nostr::durable::LocalSql;
using nostr::durable::Log;
using nostr::durable::Relay;
using nostr::durable::Store;
using nostr::durable::Timer;
using nostr::durable::TimerKind;
using nostr::durable::Timers;

namespace {

struct Started {
  uint32_t local_token = 0;  // the first LocalSql that wants rows (the schema version)
  uint32_t store_token = 0;  // the first Store (the management state load)
};

Started start(Relay& r, uint64_t now) {
  r.restore(now);
  Started s;
  for (const Action& a : r.take_actions()) {
    if (auto* l = std::get_if<LocalSql>(&a); l && l->token != 0 && s.local_token == 0)
      s.local_token = l->token;
    if (auto* st = std::get_if<Store>(&a); st && s.store_token == 0) s.store_token = st->token;
  }
  return s;
}

size_t count_logs(const std::vector<Action>& acts, const std::string& needle) {
  size_t n = 0;
  for (const Action& a : acts)
    if (auto* l = std::get_if<Log>(&a); l && l->line.find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "host error: a completion of the wrong kind is reported and leaves the operation pending") {
  Relay r(nostr::RelayConfig{});
  const uint64_t now = 1700000000;
  const Started s = start(r, now);
  REQUIRE(s.local_token != 0);
  REQUIRE(s.store_token != 0);

  // The schema query (local SQL) answered as if it were a store batch, and as
  // an archive: both refused, counted, logged.
  r.store_done(s.local_token, true, "", now);
  r.archive_done(s.local_token, true, now);
  CHECK(r.metrics().host_errors.at("wrong_completion") == 2);
  const auto acts = r.take_actions();
  CHECK(count_logs(acts, R"("kind":"wrong_completion","call":"store_done")") == 1);
  CHECK(count_logs(acts, R"("kind":"wrong_completion","call":"archive_done")") == 1);
  CHECK(r.metrics_text(0).find("nostr_relay_host_errors_total{kind=\"wrong_completion\"} 2") !=
        std::string::npos);

  // The right completion still works: the schema answer brings the migrations
  // and the reads of what local SQL keeps.
  r.local_sql_done(s.local_token, "", now);
  size_t local = 0;
  for (const Action& a : r.take_actions()) local += std::holds_alternative<LocalSql>(a);
  CHECK(local > 3);
  // ... once: the token is spent now.
  r.local_sql_done(s.local_token, "", now);
  CHECK(r.metrics().host_errors.at("unknown_token") == 1);
}

TEST_CASE("host error: a completion for a token the engine never gave is counted, nothing else") {
  Relay r(nostr::RelayConfig{});
  const uint64_t now = 1700000000;
  const Started s = start(r, now);
  r.store_done(s.store_token + 1000, true, "", now);
  r.local_sql_done(s.store_token + 1001, "", now);
  r.archive_done(s.store_token + 1002, false, now);
  CHECK(r.metrics().host_errors.at("unknown_token") == 3);
  CHECK(r.metrics().host_errors.count("wrong_completion") == 0);
  CHECK(count_logs(r.take_actions(), R"("kind":"unknown_token")") == 3);
  // The management load is still waiting for its own completion.
  CHECK_FALSE(r.health_json().find("\"management_loaded\":true") != std::string::npos);
}

TEST_CASE(
    "timers: armed or not (no zero sentinel), earliest by kind, set_earlier keeps the sooner") {
  Timers t;
  CHECK_FALSE(t.armed(Timer::expiry_sweep));
  CHECK_FALSE(t.earliest(TimerKind::alarm).has_value());
  CHECK_FALSE(t.earliest(TimerKind::deadline).has_value());
  t.set(Timer::vanish_retry, 0);  // armed at 0: due at once
  CHECK(t.due(Timer::vanish_retry, 0));
  CHECK_FALSE(t.earliest(TimerKind::deadline).has_value());
  t.set(Timer::expiry_sweep, 500);
  t.set(Timer::vanish_retry, 300);
  t.set(Timer::query_pacing, 900);
  CHECK(t.earliest(TimerKind::alarm) == 300u);
  CHECK(t.earliest(TimerKind::deadline) == 900u);
  t.set_earlier(Timer::query_pacing, 950);
  CHECK(t.at(Timer::query_pacing) == 900u);
  t.set_earlier(Timer::query_pacing, 100);
  CHECK(t.at(Timer::query_pacing) == 100u);
  CHECK_FALSE(t.due(Timer::vanish_retry, 299));
  CHECK(t.due(Timer::vanish_retry, 300));
  t.clear(Timer::vanish_retry);
  CHECK(t.earliest(TimerKind::alarm) == 500u);
}

TEST_CASE(
    "BatchResult: a completion is decoded once; a failure carries the host's text, a malformed "
    "buffer is a failure") {
  std::string buf;
  nostr::test::u32(buf, 1);  // one statement: 2 changes, 1 row, 2 cols
  nostr::test::u32(buf, 2);
  nostr::test::u32(buf, 1);
  nostr::test::u32(buf, 2);
  nostr::test::u32(buf, 3);
  buf += "abc";
  nostr::test::u32(buf, 0xFFFFFFFFu);  // NULL
  const auto ok = nostr::BatchResult::decode(true, buf);
  REQUIRE(ok.ok);
  REQUIRE(ok.sets.size() == 1);
  CHECK(ok.sets[0].changes == 2);
  CHECK(ok.sets[0].cell(0, 0) == "abc");
  CHECK(ok.sets[0].is_null(0, 1));
  const auto failed = nostr::BatchResult::decode(false, "D1_ERROR: busy");
  CHECK_FALSE(failed.ok);
  CHECK(failed.error == "D1_ERROR: busy");
  CHECK(failed.sets.empty());
  const auto cut =
      nostr::BatchResult::decode(true, std::string_view(buf).substr(0, buf.size() - 2));
  CHECK_FALSE(cut.ok);
  CHECK(cut.error == "malformed results");
}
