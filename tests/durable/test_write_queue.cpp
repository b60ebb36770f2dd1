// Group commit as a component (durable/write_queue.h), alone: no engine, no
// SimHost, no SQLite. Events are signed and verified for real.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/verify.h"
#include "durable/write_queue.h"
#include "tests/support/signer.h"

using nostr::durable::PendingStore;
using nostr::durable::WriteQueue;

namespace {

struct Events {
  nostr::test::Signer alice{7};
  simdjson::dom::parser parser;
  // A verified kind-1 note (or `kind`) with `tags`, ready to queue for `conn`.
  PendingStore pending(uint32_t conn, uint64_t at, uint32_t kind = 1,
                       const nostr::test::Tags& tags = {}) {
    const auto s = alice.sign(kind, at, tags, "note " + std::to_string(at));
    auto e = nostr::Event::parse(parser, s.json, nostr::Limits{});
    REQUIRE(e.ok());
    auto v = nostr::validate_event(std::move(e).value());
    REQUIRE(v.ok());
    auto ve = std::make_unique<nostr::VerifiedEvent>(std::move(v).value());
    const size_t cost = WriteQueue::cost_of(ve->event());
    nostr::StorePlan plan = nostr::plan_store(ve->event());
    return PendingStore{conn, std::move(ve), std::move(plan), false, cost};
  }
};

}  // namespace

TEST_CASE("write queue: one batch in flight; what waits meanwhile goes together in the next") {
  nostr::Limits limits;
  WriteQueue q(limits);
  Events ev;
  CHECK_FALSE(q.take_batch(0));  // nothing waits
  q.push(ev.pending(1, 100));
  auto first = q.take_batch(0);
  REQUIRE(first);
  CHECK(first->events.size() == 1);
  CHECK_FALSE(first->plan.stmts.empty());
  q.sent(41);
  CHECK(q.in_flight());
  CHECK(q.in_flight_token() == 41);
  for (uint64_t t = 101; t < 111; ++t) q.push(ev.pending(2, t));
  CHECK_FALSE(q.take_batch(0));  // one in flight
  q.note_answered(9);
  const auto answered = q.done();
  CHECK(answered == std::vector<nostr::durable::SubHandle>{9});
  CHECK(q.done().empty());  // handed over once
  auto second = q.take_batch(1);
  REQUIRE(second);
  CHECK(second->events.size() == 10);                                // group commit
  CHECK(second->events.front().event->event().created_at() == 101);  // oldest first
  CHECK(q.waiting().empty());
}

TEST_CASE(
    "write queue: a batch stops at the event and statement caps; the first event always goes") {
  nostr::Limits limits;
  limits.max_pending_event_bytes_total = 1u << 30;
  WriteQueue q(limits);
  Events ev;
  for (uint64_t t = 0; t < WriteQueue::kMaxBatchEvents + 5; ++t) q.push(ev.pending(1, 1000 + t));
  auto b = q.take_batch(0);
  REQUIRE(b);
  CHECK(b->events.size() == WriteQueue::kMaxBatchEvents);
  CHECK(b->plan.stmts.size() <= WriteQueue::kMaxBatchStatements);
  CHECK(q.waiting().size() == 5);
  // Replaceable events each cost statements of their own: fewer fit.
  WriteQueue r(limits);
  for (uint64_t t = 0; t < 40; ++t)
    r.push(ev.pending(1, 2000 + t, 30000, {{"d", std::to_string(t)}}));
  b = r.take_batch(1);
  REQUIRE(b);
  CHECK(b->events.size() < 40);
  CHECK(b->plan.stmts.size() + 1 <= WriteQueue::kMaxBatchStatements);
  CHECK(r.waiting().size() == 40 - b->events.size());
}

TEST_CASE("write queue: bytes are held from push to release, within the relay-wide budget") {
  nostr::Limits limits;
  Events ev;
  auto p = ev.pending(1, 100);
  const size_t cost = p.cost;
  CHECK(cost == p.event->event().raw().size() + WriteQueue::kPendingOverhead);
  limits.max_pending_event_bytes_total = cost * 2;
  WriteQueue q(limits);
  CHECK(q.room_for(cost * 2));
  q.push(std::move(p));
  CHECK(q.bytes() == cost);
  CHECK(q.room_for(cost));
  CHECK_FALSE(q.room_for(cost + 1));
  auto b = q.take_batch(0);
  REQUIRE(b);
  CHECK(q.bytes() == cost);  // still held while the batch is in flight
  q.release(b->events[0].cost);
  CHECK(q.bytes() == 0);
  q.release(5);  // never below zero
  CHECK(q.bytes() == 0);
}
