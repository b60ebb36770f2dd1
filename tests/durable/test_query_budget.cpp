// Stored-query budgets and read turns as a component (durable/query_budget.h),
// alone: no engine, no SimHost, no SQLite.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "durable/query_budget.h"

using nostr::durable::QueryBudget;

TEST_CASE(
    "query budget: answers hold at most half, pages the rest; the first of each is admitted") {
  nostr::Limits l;
  l.max_query_bytes_total = 1000;
  l.max_query_page_bytes = 300;
  QueryBudget q(l);
  CHECK(q.list_fits(5000));  // nothing held: admitted whatever its size
  q.hold_list(400);
  CHECK(q.list_fits(100));
  CHECK_FALSE(q.list_fits(101));    // past half
  CHECK(q.prefetch_room() == 300);  // 400 + 300 <= 1000
  q.hold_page(300);
  CHECK(q.prefetch_room() == 300);  // 400 + 300 + 300 = 1000
  CHECK(q.page_fits(300));
  CHECK_FALSE(q.page_fits(301));
  q.hold_page(100);
  CHECK(q.prefetch_room() == 0);
  q.release_page(400);
  CHECK(q.page_fits(5000));  // no page held: admitted whatever its size
  q.release_list(400);
  CHECK(q.list_bytes() == 0);
  CHECK(q.page_bytes() == 0);
}

TEST_CASE("query budget: read slots relay-wide") {
  nostr::Limits l;
  l.max_queries_in_flight_total = 2;
  QueryBudget q(l);
  CHECK(q.slot_free());
  q.read_started();
  q.read_started();
  CHECK_FALSE(q.slot_free());
  q.read_done();
  CHECK(q.slot_free());
  CHECK(q.reads_in_flight() == 1);
}

TEST_CASE("query budget: turns go round-robin, fewest reads in flight first") {
  nostr::Limits l;
  QueryBudget q(l);
  // Connection 1 has three steps and one read in flight; 2 and 3 one step each, none in flight.
  std::map<uint32_t, std::pair<int, uint32_t>> conns{{1, {3, 1}}, {2, {1, 0}}, {3, {1, 0}}};
  for (const auto& [conn, state] : conns) q.schedule(conn);
  std::vector<uint32_t> started;
  size_t slots = 3;
  q.run_turns(4, [&](uint32_t conn, uint32_t level) {
    auto& [steps, in_flight] = conns[conn];
    if (in_flight == level && slots > 0) {
      --slots;
      --steps;
      ++in_flight;
      started.push_back(conn);
    }
    return steps > 0;
  });
  // Level 0: 2 and 3 (1 already has a read); level 1: 1 gets the last slot.
  CHECK(started == std::vector<uint32_t>{2, 3, 1});
  // Only connection 1 still waits: it keeps its turn for the next run.
  started.clear();
  slots = 10;
  q.run_turns(4, [&](uint32_t conn, uint32_t) {
    started.push_back(conn);
    return false;
  });
  CHECK(started == std::vector<uint32_t>{1});
}
