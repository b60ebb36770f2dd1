// Retention as a component (durable/retention.h), alone: no engine, no
// SimHost, no SQLite. The store's answers are built by hand.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "../support/results_bytes.h"
#include "core/config.h"
#include "durable/metrics.h"
#include "durable/retention.h"

using nostr::BatchResult;
using nostr::durable::Metrics;
using nostr::durable::RetentionRuns;

using nostr::test::u32;

namespace {

// The select batch's answer: its last statement's rows (id, created_at, raw).
std::string selected(const std::vector<std::pair<std::string, uint64_t>>& rows) {
  std::string out;
  u32(out, 1);
  u32(out, 0);
  u32(out, static_cast<uint32_t>(rows.size()));
  u32(out, 3);
  for (const auto& [id, t] : rows) {
    const std::string at = std::to_string(t);
    const std::string raw = R"({"id":")" + id + R"(","created_at":)" + at + "}";
    for (const std::string* cell : {&id, &at, &raw}) {
      u32(out, static_cast<uint32_t>(cell->size()));
      out += *cell;
    }
  }
  return out;
}

std::string id_of(int i) {
  std::string id(64, '0');
  const std::string n = std::to_string(i);
  id.replace(64 - n.size(), n.size(), n);
  return id;
}

struct Sink final : RetentionRuns::Sink {
  std::vector<std::string> stores;  // "select" / "delete"
  std::vector<std::string> archive_keys;
  std::vector<std::string> logs;
  void store(std::variant<RetentionRuns::Select, RetentionRuns::Deleted> ticket,
             std::vector<nostr::SqlStatement> stmts) override {
    CHECK_FALSE(stmts.empty());
    stores.push_back(std::holds_alternative<RetentionRuns::Select>(ticket) ? "select" : "delete");
  }
  void archive(std::string key, std::string body) override {
    CHECK_FALSE(body.empty());
    archive_keys.push_back(std::move(key));
  }
  void log(std::string line) override { logs.push_back(std::move(line)); }
};

nostr::Retention rules() {
  nostr::Retention r;
  r.rules.push_back({1, 1, 86400});
  r.interval_seconds = 600;
  return r;
}

}  // namespace

TEST_CASE("retention runs: due time, select, one archive per UTC day, delete after every archive") {
  const nostr::Retention cfg = rules();
  Metrics m;
  RetentionRuns runs(cfg, m);
  Sink sink;
  const uint64_t now = 1700000000;
  CHECK_FALSE(runs.next_run().has_value());
  runs.start(now);
  REQUIRE(runs.next_run() == now + 60);
  runs.on_timer(now + 59, "relay", sink);
  CHECK(sink.stores.empty());
  runs.on_timer(now + 60, "relay", sink);
  CHECK(sink.stores == std::vector<std::string>{"select"});
  CHECK_FALSE(runs.next_run().has_value());  // a run in progress

  // Three events over two UTC days: two archives, then the delete.
  const uint64_t day = 86400 * 19000;
  runs.on_selected(
      BatchResult::decode(
          true, selected({{id_of(1), day + 5}, {id_of(2), day + 86400 + 1}, {id_of(3), day + 7}})),
      now + 61, sink);
  REQUIRE(sink.archive_keys.size() == 2);
  CHECK(sink.archive_keys[0].rfind("events/2022-01-08/", 0) == 0);
  CHECK(sink.archive_keys[1].rfind("events/2022-01-09/", 0) == 0);
  runs.on_written(true, now + 62, sink);
  CHECK(sink.stores.size() == 1);  // waits for the other archive
  runs.on_written(true, now + 62, sink);
  CHECK(sink.stores == std::vector<std::string>{"select", "delete"});
  const auto deleted = runs.on_deleted(true, now + 63, sink);
  CHECK(deleted.size() == 3);
  CHECK(m.retention_pruned == 3);
  CHECK(m.retention_archives == 2);
  CHECK(runs.next_run() == now + 63 + 600);  // not a full batch: the next interval
  CHECK(sink.logs.empty());
}

TEST_CASE(
    "retention runs: a failed archive deletes nothing; a failed select or delete ends the run") {
  const nostr::Retention cfg = rules();
  Metrics m;
  RetentionRuns runs(cfg, m);
  Sink sink;
  const uint64_t now = 1700000000;
  runs.start(now);
  runs.on_timer(now + 60, "relay", sink);
  runs.on_selected(BatchResult::decode(true, selected({{id_of(1), now - 90000}})), now + 61, sink);
  REQUIRE(sink.archive_keys.size() == 1);
  runs.on_written(false, now + 62, sink);
  CHECK(sink.stores == std::vector<std::string>{"select"});  // no delete
  CHECK(m.retention_failures == 1);
  REQUIRE(sink.logs.size() == 1);
  CHECK(sink.logs[0].find("an archive could not be written") != std::string::npos);
  CHECK(runs.next_run() == now + 62 + 600);

  runs.on_timer(now + 662, "relay", sink);
  runs.on_selected(BatchResult::decode(false, "D1 timeout"), now + 663, sink);
  CHECK(m.retention_failures == 2);
  CHECK(runs.next_run() == now + 663 + 600);

  // Nothing to prune (or the lease is elsewhere): no failure.
  runs.on_timer(now + 1263, "relay", sink);
  runs.on_selected(BatchResult::decode(true, selected({})), now + 1264, sink);
  CHECK(m.retention_failures == 2);
  CHECK(runs.next_run() == now + 1264 + 600);
}

TEST_CASE("retention runs: a full batch goes on at once; archive off deletes without writing") {
  nostr::Retention cfg = rules();
  cfg.archive = false;
  Metrics m;
  RetentionRuns runs(cfg, m);
  Sink sink;
  const uint64_t now = 1700000000;
  runs.start(now);
  runs.on_timer(now + 60, "relay", sink);
  std::vector<std::pair<std::string, uint64_t>> rows;
  for (uint32_t i = 0; i < RetentionRuns::kBatch; ++i)
    rows.emplace_back(id_of(static_cast<int>(i) + 1), now - 90000);
  runs.on_selected(BatchResult::decode(true, selected(rows)), now + 61, sink);
  CHECK(sink.archive_keys.empty());
  CHECK(sink.stores == std::vector<std::string>{"select", "delete"});
  CHECK(runs.on_deleted(true, now + 62, sink).size() == RetentionRuns::kBatch);
  CHECK(sink.stores == std::vector<std::string>{"select", "delete", "select"});  // at once
  CHECK_FALSE(runs.next_run().has_value());
}
