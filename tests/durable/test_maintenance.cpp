// The expiry sweep and NIP-62 vanish steps as a component
// (durable/maintenance.h), alone: no engine, no SimHost, no SQLite. The
// store's answers are built by hand.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../support/results_bytes.h"
#include "durable/maintenance.h"

using nostr::BatchResult;
using nostr::durable::Maintenance;
using nostr::test::u32;

namespace {

// A batch's answer: `stmts` statements, the last with these rows of text cells.
std::string rows(const std::vector<std::vector<std::string>>& cells, uint32_t stmts = 1) {
  std::string out;
  u32(out, stmts);
  for (uint32_t s = 0; s + 1 < stmts; ++s) {
    u32(out, 0);
    u32(out, 0);
    u32(out, 0);
  }
  u32(out, 0);
  u32(out, static_cast<uint32_t>(cells.size()));
  u32(out, cells.empty() ? 0 : static_cast<uint32_t>(cells[0].size()));
  for (const auto& row : cells)
    for (const std::string& c : row) {
      u32(out, static_cast<uint32_t>(c.size()));
      out += c;
    }
  return out;
}

struct Sink final : Maintenance::Sink {
  std::vector<std::variant<Maintenance::Sweep, Maintenance::Vanish>> stores;
  std::vector<int64_t> saved;  // local SQL writes: the saved sweep times
  int reads = 0;
  std::vector<std::string> logs;
  void store(std::variant<Maintenance::Sweep, Maintenance::Vanish> ticket,
             std::vector<nostr::SqlStatement> stmts) override {
    CHECK_FALSE(stmts.empty());
    stores.push_back(ticket);
  }
  void local_sql(std::optional<Maintenance::SavedRead> ticket, nostr::SqlStatement stmt) override {
    if (ticket) {
      ++reads;
      return;
    }
    REQUIRE(stmt.params.size() == 2);
    saved.push_back(stmt.params[1].integer);
  }
  void log(std::string line) override { logs.push_back(std::move(line)); }
  Maintenance::Sink& self() { return *this; }
};

}  // namespace

TEST_CASE("Maintenance: the sweep runs at its saved time, again at once after a full batch") {
  Maintenance m;
  Sink sink;
  m.read_saved(sink);
  CHECK(sink.reads == 1);
  CHECK_FALSE(m.next_alarm());
  m.on_saved(BatchResult::decode(true, rows({})), 1000, sink);  // first start: nothing saved
  CHECK(m.next_alarm() == 1000 + Maintenance::kSweepInterval);
  CHECK(sink.saved == std::vector<int64_t>{4600});
  Maintenance woken;
  woken.on_saved(BatchResult::decode(true, rows({{"2500"}})), 2000,
                 sink);  // a saved time is kept as it is
  CHECK(woken.next_alarm() == 2500u);
  CHECK(sink.saved.size() == 1);

  m.on_timer(4599, true, sink);
  CHECK(sink.stores.empty());
  m.on_timer(4600, true, sink);
  REQUIRE(sink.stores.size() == 1);
  CHECK(std::holds_alternative<Maintenance::Sweep>(sink.stores[0]));
  CHECK_FALSE(m.next_alarm());  // re-armed when the batch completes
  std::vector<std::vector<std::string>> full(Maintenance::kSweepBatch, {"x"});
  m.on_sweep_done(BatchResult::decode(true, rows(full)), 4601, sink);
  CHECK(m.next_alarm() == 4601u);
  m.on_timer(4601, true, sink);
  m.on_sweep_done(BatchResult::decode(false, "disk I/O error"), 4602,
                  sink);  // a failure waits an interval
  CHECK(m.next_alarm() == 4602 + Maintenance::kSweepInterval);
}

TEST_CASE(
    "Maintenance: one vanish step at a time; a request during a step or a failure runs another") {
  Maintenance m;
  Sink sink;
  m.vanish(sink);
  REQUIRE(sink.stores.size() == 1);
  const auto step = std::get<Maintenance::Vanish>(sink.stores[0]);
  m.vanish(sink);  // in flight: owed, not sent
  CHECK(sink.stores.size() == 1);
  CHECK(m.vanish_owed());
  // Done (3 deleted, no more waiting), but a request came meanwhile: another step.
  const std::string answer = rows({{"3", "0"}}, static_cast<uint32_t>(step.result_stmt + 1));
  CHECK(m.on_vanish_done(step, BatchResult::decode(true, answer), 100, sink));
  CHECK(sink.stores.size() == 2);
  CHECK_FALSE(m.vanish_owed());
  // That step fails: owed, retried on an alarm, once management allows.
  CHECK_FALSE(m.on_vanish_done(step, BatchResult::decode(false, "D1 down"), 200, sink));
  CHECK(sink.logs.size() == 1);
  CHECK(m.vanish_owed());
  CHECK(m.next_alarm() == 200 + Maintenance::kVanishRetry);
  m.on_timer(260, /*may_vanish=*/false, sink);
  CHECK(sink.stores.size() == 2);
  m.on_timer(260, true, sink);
  CHECK(sink.stores.size() == 3);
  CHECK_FALSE(m.next_alarm());
  // A step that deleted nothing and reports none waiting ends the run.
  CHECK_FALSE(m.on_vanish_done(
      step,
      BatchResult::decode(true, rows({{"0", "0"}}, static_cast<uint32_t>(step.result_stmt + 1))),
      300, sink));
  CHECK(sink.stores.size() == 3);
  CHECK_FALSE(m.vanish_owed());
}
