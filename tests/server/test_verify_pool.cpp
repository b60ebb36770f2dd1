// server/verify_pool: frames leave in the order they entered, EVENTs verified
// on the workers (an invalid one comes out parsed, with its refusal, so the
// engine does not verify it again), everything else left to the engine.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "../support/signer.h"
#include "server/verify_pool.h"

using nostr::server::VerifyPool;
using nostr::test::Signer;

namespace {

// Waits until the pool has handed over `n` items (wake -> drain, as the server does).
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  int wakes = 0;
};

}  // namespace

TEST_CASE("verify pool: EVENT frames are recognised by their start") {
  CHECK(VerifyPool::is_event("[\"EVENT\",{}]"));
  CHECK(VerifyPool::is_event(" \n[ \t\"EVENT\" ,{}]"));
  CHECK_FALSE(VerifyPool::is_event("[\"REQ\",\"s\",{}]"));
  CHECK_FALSE(VerifyPool::is_event("[\"EVENTS\",{}]"));
  CHECK_FALSE(VerifyPool::is_event("[\"EVENTX\",{}]"));
  CHECK_FALSE(VerifyPool::is_event("{\"EVENT\":1}"));
  CHECK_FALSE(VerifyPool::is_event(""));
}

TEST_CASE("verify pool: order kept across connections and kinds of frame; only valid events come verified") {
  Signer alice(1);
  const auto good1 = alice.sign(1, 1700000000, {}, "one");
  const auto good2 = alice.sign(1, 1700000001, {}, "two");
  const auto forged = alice.sign(1, 1700000002, {}, "three", std::string(64, 'a'));  // id is not the hash
  std::string bad_sig = alice.sign(1, 1700000003, {}, "four").json;
  bad_sig[bad_sig.size() - 3] = bad_sig[bad_sig.size() - 3] == '0' ? '1' : '0';  // last signature digit

  Collector col;
  VerifyPool pool(3, nostr::Limits{}, [&] {
    std::lock_guard lock(col.mu);
    ++col.wakes;
    col.cv.notify_all();
  });
  const std::vector<std::pair<uint32_t, std::string>> frames = {
      {1, "[\"EVENT\"," + good1.json + "]"},
      {2, "[\"REQ\",\"s\",{}]"},
      {1, "[\"EVENT\"," + forged.json + "]"},
      {2, "[\"EVENT\"," + bad_sig + "]"},
      {3, "[\"EVENT\",{\"not\":\"an event\"}]"},
      {1, "[\"EVENT\"," + good2.json + "]"},
      {3, "[\"CLOSE\",\"s\"]"},
  };
  for (const auto& [conn, f] : frames) pool.submit(conn, f);
  pool.submit_close(2);
  CHECK(pool.frames() == frames.size() + 1);

  std::vector<VerifyPool::Item> out;
  for (int round = 0; out.size() < frames.size() + 1 && round < 1000; ++round) {
    pool.drain([&](VerifyPool::Item&& it) { out.push_back(std::move(it)); });
    std::unique_lock lock(col.mu);
    col.cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  REQUIRE(out.size() == frames.size() + 1);
  CHECK(pool.frames() == 0);
  CHECK(pool.bytes() == 0);
  for (size_t i = 0; i < frames.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i].conn == frames[i].first);
    CHECK(out[i].frame == frames[i].second);
    CHECK_FALSE(out[i].closed);
  }
  CHECK(out.back().closed);
  CHECK(out.back().conn == 2);
  REQUIRE(out[0].verified.has_value());
  CHECK(out[0].verified->event().id().hex() == good1.id);
  CHECK(out[5].verified.has_value());
  CHECK_FALSE(out[0].invalid.has_value());
  // Not verified: the engine answers these frames itself.
  CHECK_FALSE(out[1].verified.has_value());
  CHECK_FALSE(out[2].verified.has_value());
  CHECK_FALSE(out[3].verified.has_value());
  CHECK_FALSE(out[4].verified.has_value());
  CHECK_FALSE(out[6].verified.has_value());
  // Parsed but invalid EVENTs come with the event and the refusal...
  REQUIRE(out[2].invalid.has_value());
  REQUIRE(out[2].why.has_value());
  CHECK(out[2].why->code == nostr::Code::id_mismatch);
  REQUIRE(out[3].invalid.has_value());
  CHECK(out[3].why->code == nostr::Code::bad_signature);
  // ...frames that are not (parsable) EVENTs with neither.
  for (const size_t i : {1, 4, 6}) {
    CAPTURE(i);
    CHECK_FALSE(out[i].invalid.has_value());
    CHECK_FALSE(out[i].why.has_value());
  }
}

TEST_CASE(
    "verify pool: an EVENT with a bad signature comes out parsed, with its refusal, not verified") {
  Signer alice(2);
  const auto good = alice.sign(1, 1700000000, {}, "hello");
  std::string bad = good.json;
  const size_t sig = bad.find("\"sig\":\"");
  REQUIRE(sig != std::string::npos);
  char& digit = bad[sig + 7];  // the signature's first hex digit
  digit = digit == '0' ? '1' : '0';

  Collector col;
  VerifyPool pool(1, nostr::Limits{}, [&] {
    std::lock_guard lock(col.mu);
    ++col.wakes;
    col.cv.notify_all();
  });
  pool.submit(9, "[\"EVENT\"," + bad + "]");
  std::vector<VerifyPool::Item> out;
  for (int round = 0; out.empty() && round < 1000; ++round) {
    pool.drain([&](VerifyPool::Item&& it) { out.push_back(std::move(it)); });
    std::unique_lock lock(col.mu);
    col.cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  REQUIRE(out.size() == 1);
  const VerifyPool::Item& it = out[0];
  CHECK(it.conn == 9);
  CHECK_FALSE(it.closed);
  CHECK_FALSE(it.verified.has_value());
  REQUIRE(it.invalid.has_value());
  REQUIRE(it.why.has_value());
  CHECK(it.why->code == nostr::Code::bad_signature);
  CHECK(it.invalid->id().hex() == good.id);
  CHECK(it.invalid->raw() == bad);  // the event as received, for the engine's answer
}

TEST_CASE("verify pool: a frame that is not an EVENT is ready at once when nothing is ahead of it") {
  VerifyPool pool(1, nostr::Limits{}, [] {});
  pool.submit(7, "[\"REQ\",\"x\",{}]");
  int n = 0;
  pool.drain([&](VerifyPool::Item&& it) {
    ++n;
    CHECK(it.conn == 7);
  });
  CHECK(n == 1);
}
