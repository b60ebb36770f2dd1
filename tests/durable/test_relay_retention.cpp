// Retention (durable/relay_retention.cpp): what the rules prune is archived
// by UTC day, byte for byte, before it is deleted; a failed archive deletes
// nothing; the size cap keeps the newest; one object at a time holds the lease.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;
using nostr::test::SqliteDb;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }

size_t rows(SqliteDb& d1, const std::string& sql) {
  std::string out, err;
  REQUIRE(d1.run_one({sql, {}}, out, err));
  return std::stoul(out.substr(20));
}

nostr::RelayConfig with_retention() {
  nostr::RelayConfig c;
  c.rate_limits = nostr::RateLimits::unlimited();
  c.retention.rules.push_back({1, 1, 3600});  // notes older than an hour
  c.retention.interval_seconds = 60;
  return c;
}

}  // namespace

TEST_CASE("retention: old notes are archived by day, byte for byte, then deleted; the rest stays") {
  SimHost h(with_retention());
  h.connect(1);
  h.take(1);
  Signer alice(1);
  const uint64_t t = h.now;
  // Two UTC days back, one an hour and a bit back, one fresh; an old reaction (kind 7) is not covered.
  const auto day1 = alice.sign(1, t - 2 * 86400, {{"t", "x"}}, "two days ago");
  const auto day1b = alice.sign(1, t - 2 * 86400 + 60, {}, "two days ago, later");
  const auto hour = alice.sign(1, t - 4000, {}, "an hour ago");
  const auto fresh = alice.sign(1, t - 10, {}, "fresh");
  const auto reaction = alice.sign(7, t - 3 * 86400, {}, "+");
  for (const auto* e : {&day1, &day1b, &hour, &fresh, &reaction}) h.send(1, event_frame(*e));
  h.take(1);
  REQUIRE(rows(h.d1(), "SELECT COUNT(*) FROM events") == 5);

  h.advance(60);  // the first run of this object life
  REQUIRE(h.archives.size() == 2);  // two UTC days
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events") == 5);  // nothing deleted before the archives are written
  const auto& a = h.archives[0];
  CHECK(a.key.rfind("events/2023-11-12/", 0) == 0);
  CHECK(a.body == day1.json + "\n" + day1b.json + "\n");  // the raw bytes, oldest first
  CHECK(h.archives[1].body == hour.json + "\n");
  h.complete_archives(true);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events") == 2);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM tags") == 0);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM archives") == 2);
  CHECK(h.relay().metrics().retention_pruned == 3);
  // Pruned: a client may publish it again (not "duplicate" from memory).
  h.send(1, event_frame(hour));
  CHECK(h.take(1) == std::vector<std::string>{"[\"OK\",\"" + hour.id + "\",true,\"\"]"});
  // ... and the next run (an interval later, the lease expired) prunes it again.
  h.advance(60);
  REQUIRE(h.archives.size() == 1);
  h.complete_archives(true);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events") == 2);
}

TEST_CASE("retention: an archive that fails deletes nothing; the size cap keeps the newest events") {
  auto c = with_retention();
  c.retention.rules.clear();
  c.retention.max_events = 3;
  SimHost h(c);
  h.connect(1);
  h.take(1);
  Signer alice(1);
  for (int i = 0; i < 5; ++i) h.send(1, event_frame(alice.sign(1, h.now - 100 + static_cast<uint64_t>(i), {}, "n" + std::to_string(i))));
  h.take(1);
  h.advance(60);
  REQUIRE(h.archives.size() == 1);
  h.complete_archives(false);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events") == 5);
  CHECK(h.relay().metrics().retention_failures == 1);
  h.advance(60);
  REQUIRE(h.archives.size() == 1);
  CHECK(h.archives[0].body.find("\"n0\"") != std::string::npos);
  CHECK(h.archives[0].body.find("\"n2\"") == std::string::npos);
  h.complete_archives(true);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events") == 3);
  CHECK(rows(h.d1(), "SELECT COUNT(*) FROM events WHERE raw LIKE '%\"n2\"%'") == 1);
}

TEST_CASE("retention: several objects, one lease: only one prunes in an interval") {
  SqliteDb d1{std::string(NOSTR_SOURCE_DIR) + "/schema.sql"};
  auto c = with_retention();
  SimHost a{c, d1, "relay:weur:0"}, b{c, d1, "relay:apac:0"};
  a.connect(1);
  a.take(1);
  Signer alice(1);
  a.send(1, event_frame(alice.sign(1, a.now - 7200, {}, "old")));
  a.advance(60);
  b.advance(60);
  CHECK(a.archives.size() + b.archives.size() == 1);
  a.complete_archives(true);
  b.complete_archives(true);
  CHECK(rows(d1, "SELECT COUNT(*) FROM events") == 0);
  CHECK(rows(d1, "SELECT COUNT(*) FROM archives") == 1);
}
