// The operations log as a component (durable/ops_log.h), alone: no engine,
// no SimHost, no SQLite. The saved row is built by hand.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "../support/results_bytes.h"
#include "durable/ops_log.h"

using nostr::BatchResult;
using nostr::durable::Action;
using nostr::durable::LocalSql;
using nostr::durable::Log;
using nostr::durable::Metrics;
using nostr::durable::OpsLog;
using nostr::durable::Outbox;

using nostr::test::u32;

namespace {

template <typename T>
std::vector<T> only(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const Action& a : actions)
    if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
  return out;
}

// One result set of one row, one column: the saved counters' JSON.
std::string saved_row(const std::string& json) {
  std::string out;
  u32(out, 1);
  u32(out, 0);
  u32(out, 1);
  u32(out, 1);
  u32(out, static_cast<uint32_t>(json.size()));
  out += json;
  return out;
}

}  // namespace

TEST_CASE(
    "OpsLog: at most kLinesPerSecond lines a second; the next second says how many were dropped") {
  OpsLog log;
  Outbox out;
  for (uint32_t i = 0; i < OpsLog::kLinesPerSecond + 7; ++i) log.line(R"({"msg":"x"})", 100, out);
  CHECK(only<Log>(out.take()).size() == OpsLog::kLinesPerSecond);
  log.line(R"({"msg":"y"})", 101, out);
  const auto lines = only<Log>(out.take());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].line.find("suppressed") != std::string::npos);
  CHECK(lines[0].line.find("\"count\":7") != std::string::npos);
  CHECK(lines[1].line == R"({"msg":"y"})");
}

TEST_CASE("OpsLog: a changed counter is saved once, kCounterFlush seconds later, in one row") {
  OpsLog log;
  Metrics m;
  Outbox out;
  log.note(m, 10);
  CHECK_FALSE(log.next_deadline());  // nothing changed: no timer
  m.events_accepted = 3;
  m.refused("blocked: no");
  log.note(m, 10);
  REQUIRE(log.next_deadline());
  CHECK(*log.next_deadline() == 10 + OpsLog::kCounterFlush);
  m.events_accepted = 4;
  log.note(m, 11);  // already armed: the deadline does not move
  CHECK(*log.next_deadline() == 10 + OpsLog::kCounterFlush);
  log.on_timer(m, 11, out);  // early: nothing
  CHECK(out.empty());
  log.on_timer(m, 12, out);
  const auto saves = only<LocalSql>(out.take());
  REQUIRE(saves.size() == 1);
  CHECK(saves[0].stmt.sql.find("INSERT OR REPLACE INTO counters") != std::string::npos);
  REQUIRE(saves[0].stmt.params.size() == 1);
  CHECK(saves[0].stmt.params[0].text.find("events_accepted") != std::string::npos);
  CHECK(saves[0].stmt.params[0].text.find("refused:blocked") != std::string::npos);
  CHECK_FALSE(log.next_deadline());
  log.note(m, 13);  // saved values unchanged: not armed again
  CHECK_FALSE(log.next_deadline());
}

TEST_CASE(
    "OpsLog: the saved row is added to counts made before it came back; a bad row changes "
    "nothing") {
  OpsLog log;
  Metrics m;
  m.events_accepted = 2;
  simdjson::dom::parser parser;
  log.on_saved(BatchResult::decode(
                   true, saved_row(R"({"events_accepted":5,"refused:blocked":1,"unknown":9})")),
               m, parser);
  CHECK(m.events_accepted == 7);
  CHECK(m.events_refused["blocked"] == 1);
  log.on_saved(BatchResult::decode(true, saved_row("not json")), m, parser);
  log.on_saved(BatchResult::decode(true, "garbage"), m, parser);
  CHECK(m.events_accepted == 7);
}
