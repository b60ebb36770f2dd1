// The HTTP API's call slots as a component (durable/api_slots.h), alone: no
// engine, no SimHost, no SQLite.
#include <doctest/doctest.h>

#include <string>

#include "durable/api_slots.h"

using nostr::durable::ApiSlots;
using nostr::durable::ConnBuckets;

namespace {

ApiSlots::Call call(uint32_t request, size_t frame_bytes = 10) {
  return ApiSlots::Call{request, 0, std::string(frame_bytes, 'x'), {}};
}

}  // namespace

TEST_CASE(
    "ApiSlots: an address runs kMaxCallsPerAddress at once; more wait, then start as calls end") {
  ApiSlots slots;
  uint32_t conn = 100;
  for (uint32_t i = 0; i < ApiSlots::kMaxCallsPerAddress; ++i) {
    auto c = call(i);
    REQUIRE(slots.admit("a", c, 1) == ApiSlots::Admit::start);
    (void)slots.started("a", ++conn);
  }
  auto c = call(50);
  CHECK(slots.admit("a", c, 1) == ApiSlots::Admit::waiting);
  CHECK(c.frame.empty());     // moved into the queue
  CHECK_FALSE(slots.next());  // the address has no free slot
  // Another address is not held up by it.
  auto b = call(60);
  CHECK(slots.admit("b", b, 1) == ApiSlots::Admit::start);
  slots.ended(101, nullptr, 2);
  auto n = slots.next();
  REQUIRE(n);
  CHECK(n->first == "a");
  CHECK(n->second.request == 50);
  CHECK(slots.waiting_bytes() == 0);
}

TEST_CASE("ApiSlots: kMaxCalls relay-wide; waiting calls start round-robin between addresses") {
  ApiSlots slots;
  uint32_t conn = 0;
  // Three addresses fill the relay's slots (3 + 3 + 2).
  const char* keys[] = {"a", "b", "c"};
  for (size_t i = 0; i < ApiSlots::kMaxCalls; ++i) {
    const std::string k = keys[i / ApiSlots::kMaxCallsPerAddress];
    auto c = call(static_cast<uint32_t>(i));
    REQUIRE(slots.admit(k, c, 1) == ApiSlots::Admit::start);
    (void)slots.started(k, ++conn);
  }
  CHECK(slots.running() == ApiSlots::kMaxCalls);
  // "a" queues many; "d" queues one after it.
  for (uint32_t i = 0; i < 5; ++i) {
    auto c = call(200 + i);
    CHECK(slots.admit("a", c, 2) == ApiSlots::Admit::waiting);
  }
  auto d = call(300);
  CHECK(slots.admit("d", d, 2) == ApiSlots::Admit::waiting);
  CHECK_FALSE(slots.next());  // no free slot
  // One of "c"'s calls ends: "a" is at its own limit, so "d" goes first.
  slots.ended(7, nullptr, 3);
  auto n = slots.next();
  REQUIRE(n);
  CHECK(n->first == "d");
  (void)slots.started(n->first, ++conn);
  CHECK_FALSE(slots.next());  // relay-wide limit again
}

TEST_CASE("ApiSlots: an address's queue and the waiting bytes are bounded") {
  ApiSlots slots;
  for (uint32_t i = 0; i < ApiSlots::kMaxCallsPerAddress; ++i) {
    auto c = call(i);
    REQUIRE(slots.admit("a", c, 1) == ApiSlots::Admit::start);
    (void)slots.started("a", i + 1);
  }
  for (uint32_t i = 0; i < ApiSlots::kMaxWaitingPerAddress; ++i) {
    auto c = call(10 + i);
    REQUIRE(slots.admit("a", c, 1) == ApiSlots::Admit::waiting);
  }
  auto over = call(99);
  CHECK(slots.admit("a", over, 1) == ApiSlots::Admit::address_full);
  CHECK_FALSE(over.frame.empty());  // not taken
  // Bytes: one big frame that would pass kMaxWaitingBytes is refused.
  for (uint32_t i = 0; i < ApiSlots::kMaxCallsPerAddress; ++i) {
    auto c = call(i);
    REQUIRE(slots.admit("b", c, 1) == ApiSlots::Admit::start);
    (void)slots.started("b", 100 + i);
  }
  auto big = call(7, ApiSlots::kMaxWaitingBytes);
  CHECK(slots.admit("b", big, 1) == ApiSlots::Admit::address_full);
}

TEST_CASE("ApiSlots: an address's calls share its buckets; an ended call hands them back") {
  ApiSlots slots;
  auto c = call(1);
  REQUIRE(slots.admit("a", c, 1) == ApiSlots::Admit::start);
  ConnBuckets used = slots.started("a", 7);
  used.event.milli = 1234;
  used.event.used = true;
  slots.ended(7, &used, 2);
  auto c2 = call(2);
  REQUIRE(slots.admit("a", c2, 3) == ApiSlots::Admit::start);
  CHECK(slots.started("a", 8).event.milli == 1234);
  slots.ended(999, &used, 4);  // not a call's connection: nothing
  CHECK(slots.running() == 1);
}

TEST_CASE("ApiSlots: at most kMaxAddresses remembered; the idle one used longest ago goes first") {
  ApiSlots slots;
  for (size_t i = 0; i < ApiSlots::kMaxAddresses; ++i) {
    auto c = call(1);
    REQUIRE(slots.admit("k" + std::to_string(i), c, 10 + i) == ApiSlots::Admit::start);
  }
  CHECK(slots.addresses() == ApiSlots::kMaxAddresses);
  auto c = call(2);
  CHECK(slots.admit("new", c, 100000) == ApiSlots::Admit::start);
  CHECK(slots.addresses() == ApiSlots::kMaxAddresses);
}

TEST_CASE("ApiSlots: when every remembered address has calls, a new address is refused") {
  ApiSlots slots;
  for (size_t i = 0; i < ApiSlots::kMaxAddresses; ++i) {
    const std::string k = "k" + std::to_string(i);
    auto c = call(1);
    const auto a = slots.admit(k, c, 1);
    REQUIRE(a != ApiSlots::Admit::full);
    if (a == ApiSlots::Admit::start) (void)slots.started(k, static_cast<uint32_t>(i + 1));
  }
  auto c = call(2);
  CHECK(slots.admit("new", c, 2) == ApiSlots::Admit::full);
}
