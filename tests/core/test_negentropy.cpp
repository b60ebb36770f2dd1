// core/negentropy: wire encoding, fingerprints against vectors computed by
// nostr-tools (tests/golden/negentropy_vectors.txt), our client against our
// server on random sets (exact have/need), frame size limits, and hostile
// input. The JavaScript implementations are tested against ours by
// tests/negentropy/differential.mjs.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/rng.h"
#include "core/hex.h"
#include "core/negentropy.h"
#include "core/sha256.h"

namespace {

using namespace nostr::neg;
using nostr::test::Rng;
using Bytes = std::vector<uint8_t>;

std::string hex(const Bytes& b) { return nostr::to_hex(b.data(), b.size()); }
std::string hex(const Id& id) { return nostr::to_hex(id.data(), id.size()); }
Bytes unhex(std::string_view s) {
  auto r = message_from_hex(s);
  REQUIRE(r.ok());
  return std::move(r).value();
}

Id random_id(Rng& r) {
  Id id;
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t v = r.next();
    for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return id;
}

Bytes varint(uint64_t v) {
  Bytes out;
  append_varint(out, v);
  return out;
}

// ------------------------------------------------------------------ sync driver

struct SyncStats {
  std::vector<Id> have, need;
  int rounds = 0;
  size_t up = 0, down = 0;  // bytes client -> server, server -> client
  size_t max_up = 0, max_down = 0;
};

// Runs a whole sync: our client against our server. Checks every message
// against the frame size limits on the way.
SyncStats run_sync(const Storage& client, const Storage& server, const Options& copt = {},
                   const Options& sopt = {}) {
  SyncStats st;
  Bytes msg = client_initiate(client);
  for (;;) {
    ++st.rounds;
    REQUIRE_MESSAGE(st.rounds < 500, "sync does not converge");
    st.up += msg.size();
    st.max_up = std::max(st.max_up, msg.size());
    if (st.rounds > 1 && copt.frame_size_limit != 0) REQUIRE(msg.size() <= copt.frame_size_limit);
    auto reply = server_reconcile(server, msg, sopt);
    REQUIRE_MESSAGE(reply.ok(), reply.error().text);
    REQUIRE(reply.value().size() <= sopt.frame_size_limit);
    st.down += reply.value().size();
    st.max_down = std::max(st.max_down, reply.value().size());
    auto next = client_reconcile(client, reply.value(), st.have, st.need, copt);
    REQUIRE_MESSAGE(next.ok(), next.error().text);
    if (next.value().empty()) break;
    msg = std::move(next).value();
  }
  return st;
}

std::set<std::string> id_set(const std::vector<Id>& ids) {
  std::set<std::string> s;
  for (const Id& id : ids) s.insert(hex(id));
  return s;
}

// Asserts have/need are exactly the differences (ids are unique per side).
// An id may be reported twice: a reply cut at the frame size limit makes the
// rest be reconciled anew, ranges the client had settled included. With
// `once`, also asserts that did not happen.
void check_exact(const SyncStats& st, const std::vector<Item>& client,
                 const std::vector<Item>& server, bool once = false) {
  std::set<std::string> c, s;
  for (const Item& it : client) c.insert(hex(it.id));
  for (const Item& it : server) s.insert(hex(it.id));
  std::set<std::string> only_c, only_s;
  for (const auto& x : c) {
    if (!s.count(x)) only_c.insert(x);
  }
  for (const auto& x : s) {
    if (!c.count(x)) only_s.insert(x);
  }
  if (once) {
    CHECK(st.have.size() == only_c.size());
    CHECK(st.need.size() == only_s.size());
  }
  CHECK(id_set(st.have) == only_c);
  CHECK(id_set(st.need) == only_s);
}

// Items for a split: `shared` on both sides, `only_client`, `only_server`.
struct Sides {
  std::vector<Item> client, server;
};

using TimestampFn = uint64_t (*)(Rng&);

Sides make_sides(Rng& r, size_t shared, size_t only_client, size_t only_server, TimestampFn ts) {
  Sides s;
  for (size_t i = 0; i < shared; ++i) {
    const Item it{ts(r), random_id(r)};
    s.client.push_back(it);
    s.server.push_back(it);
  }
  for (size_t i = 0; i < only_client; ++i) s.client.push_back(Item{ts(r), random_id(r)});
  for (size_t i = 0; i < only_server; ++i) s.server.push_back(Item{ts(r), random_id(r)});
  return s;
}

uint64_t ts_spread(Rng& r) { return 1700000000 + r.below(100000); }
uint64_t ts_few(Rng& r) { return 1700000000 + r.below(3); }  // many equal timestamps
uint64_t ts_extreme(Rng& r) {
  switch (r.below(4)) {
    case 0:
      return 0;
    case 1:
      return kInfinity - 1;
    case 2:
      return kInfinity - 1 - r.below(5);
    default:
      return r.next() >> 1;
  }
}

void sync_and_check(const Sides& s, const Options& copt = {}, const Options& sopt = {}) {
  const Storage client(s.client), server(s.server);
  const SyncStats st = run_sync(client, server, copt, sopt);
  // No reply came near the limit, so none was cut: every id is reported once.
  const bool uncut = st.max_down + 300 < sopt.frame_size_limit;
  check_exact(st, s.client, s.server, uncut);
}

// ------------------------------------------------------------------ vectors

std::vector<Item> vector_items(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  const size_t n = std::stoul(parts.at(1));
  std::vector<Item> items;
  for (size_t i = 0; i < n; ++i) {
    Item it;
    if (parts[0] == "hash") {
      it.timestamp = 1700000000 + i % std::stoul(parts.at(2));
      it.id = nostr::sha256("neg:" + std::to_string(i));
    } else if (parts[0] == "ff") {
      it.timestamp = i;
      it.id.fill(0xff);
    } else if (parts[0] == "lateid") {
      it.timestamp = 5;
      it.id.fill(0xab);
      it.id[30] = static_cast<uint8_t>(i >> 8);
      it.id[31] = static_cast<uint8_t>(i);
    } else {
      FAIL("unknown set " << spec);
    }
    items.push_back(it);
  }
  return items;
}

}  // namespace

TEST_CASE("negentropy varints: known encodings, round trips, rejections") {
  CHECK(hex(varint(0)) == "00");
  CHECK(hex(varint(1)) == "01");
  CHECK(hex(varint(127)) == "7f");
  CHECK(hex(varint(128)) == "8100");
  CHECK(hex(varint(300)) == "822c");
  CHECK(hex(varint(16383)) == "ff7f");
  CHECK(hex(varint(16384)) == "818000");
  CHECK(hex(varint(UINT64_MAX)) == "81ffffffffffffffff7f");

  Rng r{42};
  for (int i = 0; i < 2000; ++i) {
    const uint64_t v = r.next() >> r.below(64);
    Bytes b = varint(v);
    b.push_back(0xee);  // the reader must stop at the varint's end
    std::span<const uint8_t> in(b);
    auto got = read_varint(in);
    REQUIRE(got.ok());
    CHECK(got.value() == v);
    CHECK(in.size() == 1);
  }

  const auto rejects = [](std::string_view h) {
    const Bytes b = unhex(h);
    std::span<const uint8_t> in(b);
    auto got = read_varint(in);
    return !got.ok() && got.error().code == nostr::Code::bad_negentropy;
  };
  CHECK(rejects(""));
  CHECK(rejects("81"));                      // truncated
  CHECK(rejects("ffffff"));                  // truncated
  CHECK(rejects("8000"));                    // leading zero digit
  CHECK(rejects("82ffffffffffffffff7f"));    // 2^64
  CHECK(rejects("81ffffffffffffffffff7f"));  // 11 digits
}

TEST_CASE("negentropy bounds: delta timestamps, infinity, prefixes") {
  Rng r{7};
  for (int round = 0; round < 200; ++round) {
    std::vector<Bound> bounds;
    uint64_t t = r.chance(20) ? 0 : r.next() >> r.below(64);
    const size_t count = 1 + r.below(20);
    for (size_t i = 0; i < count && t != kInfinity; ++i) {
      Bound b;
      b.timestamp = t;
      b.id_len = static_cast<uint8_t>(r.below(33));
      const Id id = random_id(r);
      std::copy(id.begin(), id.begin() + b.id_len, b.id.begin());
      bounds.push_back(b);
      const uint64_t step = r.chance(30) ? 0 : r.next() >> r.below(64);
      t = (r.chance(10) || step >= kInfinity - t) ? kInfinity : t + step;
    }
    if (r.chance(50)) bounds.push_back(Bound{kInfinity, 0, {}});
    Bytes out;
    BoundWriter w;
    for (const Bound& b : bounds) w.append(out, b);
    std::span<const uint8_t> in(out);
    BoundReader rd;
    for (const Bound& b : bounds) {
      auto got = rd.read(in);
      REQUIRE(got.ok());
      CHECK(got.value() == b);
    }
    CHECK(in.empty());
  }

  // Known encodings: (10, ""), (10, "ab"), (12, ""), infinity.
  Bytes out;
  BoundWriter w;
  w.append(out, Bound{10, 0, {}});
  Bound ab{10, 1, {}};
  ab.id[0] = 0xab;
  w.append(out, ab);
  w.append(out, Bound{12, 0, {}});
  w.append(out, Bound{kInfinity, 0, {}});
  CHECK(hex(out) ==
        "0b00"
        "0101ab"
        "0300"
        "0000");

  const auto read_all = [](std::string_view h) {
    const Bytes b = unhex(h);
    std::span<const uint8_t> in(b);
    BoundReader rd;
    std::vector<nostr::Result<Bound>> got;
    while (!in.empty()) {
      got.push_back(rd.read(in));
      if (!got.back().ok()) break;
    }
    return got;
  };
  // After infinity every bound is infinity (as the reference reads it).
  auto got = read_all(
      "0000"
      "0500");
  REQUIRE(got.size() == 2);
  CHECK(got[1].value().timestamp == kInfinity);
  // A timestamp delta beyond 2^64-1.
  got = read_all(
      "81ffffffffffffffff7f00"
      "0300");
  REQUIRE(got.size() == 2);
  CHECK(got[0].ok());
  CHECK(got[0].value().timestamp == kInfinity - 1);
  CHECK_FALSE(got[1].ok());
  // An id prefix of 33 bytes; a truncated prefix.
  got = read_all("0121" + std::string(66, 'a'));
  CHECK_FALSE(got.back().ok());
  got = read_all("0105abcd");
  CHECK_FALSE(got.back().ok());
}

TEST_CASE("negentropy storage: sorted, deduplicated, no infinite timestamps") {
  Rng r{3};
  std::vector<Item> items;
  for (int i = 0; i < 500; ++i) items.push_back(Item{ts_few(r), random_id(r)});
  items.push_back(items[10]);
  items.push_back(items[20]);
  items.push_back(Item{kInfinity, random_id(r)});
  const Storage s(items);
  CHECK(s.size() == 500);
  CHECK(std::is_sorted(s.items().begin(), s.items().end()));
  CHECK(std::adjacent_find(s.items().begin(), s.items().end()) == s.items().end());
  CHECK(s.memory_bytes() >= 500 * sizeof(Item));
  CHECK(sizeof(Item) == 40);

  // lower_bound against prefixes.
  for (size_t i = 0; i < s.size(); ++i) {
    const Item& it = s[i];
    Bound full{it.timestamp, 32, it.id};
    CHECK(s.lower_bound(0, full) == i);
    CHECK(s.lower_bound(i, full) == i);
    Bound ts_only{it.timestamp, 0, {}};
    const size_t first_at_ts = s.lower_bound(0, ts_only);
    CHECK(first_at_ts <= i);
    CHECK((first_at_ts == 0 || s[first_at_ts - 1].timestamp < it.timestamp));
  }
  CHECK(s.lower_bound(0, Bound{kInfinity, 0, {}}) == s.size());
}

TEST_CASE("negentropy fingerprints match nostr-tools vectors") {
  std::ifstream in(std::string(NOSTR_SOURCE_DIR) + "/tests/golden/negentropy_vectors.txt");
  REQUIRE(in.good());
  int fps = 0, inits = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    std::string kind, spec;
    ss >> kind >> spec;
    const Storage s(vector_items(spec));
    if (kind == "fp") {
      size_t b = 0, e = 0;
      std::string want;
      ss >> b >> e >> want;
      const Fingerprint fp = s.fingerprint(b, e);
      CHECK_MESSAGE(nostr::to_hex(fp.data(), fp.size()) == want, line);
      const Fingerprint slow = s.fingerprint_by_sum(b, e);
      CHECK(nostr::to_hex(slow.data(), slow.size()) == want);
      ++fps;
    } else if (kind == "init") {
      std::string want;
      ss >> want;
      CHECK_MESSAGE(hex(client_initiate(s)) == want, spec);
      ++inits;
    } else {
      FAIL("unknown vector line " << line);
    }
  }
  CHECK(fps >= 40);
  CHECK(inits >= 10);
}

TEST_CASE("negentropy fingerprint by prefix sums equals the plain sum on every range shape") {
  Rng r{11};
  std::vector<Item> items;
  for (int i = 0; i < 1000; ++i) {
    Item it{ts_spread(r), random_id(r)};
    if (r.chance(10)) it.id.fill(0xff);  // carries
    items.push_back(it);
  }
  const Storage s(items);
  for (int i = 0; i < 3000; ++i) {
    size_t b = r.below(s.size() + 1), e = r.below(s.size() + 1);
    if (b > e) std::swap(b, e);
    if (r.chance(10)) b = (b / Storage::kBlock) * Storage::kBlock;
    if (r.chance(10)) e = std::min(s.size(), (e / Storage::kBlock) * Storage::kBlock);
    if (b > e) std::swap(b, e);
    CHECK(s.fingerprint(b, e) == s.fingerprint_by_sum(b, e));
  }
  CHECK(s.fingerprint(0, s.size()) == s.fingerprint_by_sum(0, s.size()));
}

TEST_CASE("negentropy sync: every split, exact have/need") {
  Rng r{2024};
  const TimestampFn timestamp_kinds[] = {ts_spread, ts_few, ts_extreme};
  struct Split {
    size_t shared, only_client, only_server;
  };
  const Split splits[] = {
      {0, 0, 0},      {0, 1, 0},      {0, 0, 1},      {1, 0, 0},      {0, 31, 0},    {0, 0, 32},
      {0, 33, 33},    {31, 1, 0},     {32, 0, 1},     {500, 0, 0},    {500, 7, 0},   {500, 0, 7},
      {500, 7, 9},    {0, 500, 0},    {0, 0, 500},    {0, 300, 300},  {2000, 1, 1},  {2000, 100, 0},
      {2000, 0, 100}, {2000, 50, 60}, {100, 2000, 0}, {100, 0, 2000}, {5000, 200, 3}};
  for (TimestampFn ts : timestamp_kinds) {
    for (const Split& sp : splits) {
      CAPTURE(sp.shared);
      CAPTURE(sp.only_client);
      CAPTURE(sp.only_server);
      const Sides s = make_sides(r, sp.shared, sp.only_client, sp.only_server, ts);
      sync_and_check(s);
      Options small;
      small.frame_size_limit = kMinFrameSizeLimit;
      sync_and_check(s, small, small);
    }
  }
  // Random shapes.
  for (int i = 0; i < 60; ++i) {
    const Sides s = make_sides(r, r.below(3000), r.below(i % 3 == 0 ? 5 : 400),
                               r.below(i % 4 == 0 ? 5 : 400), timestamp_kinds[r.below(3)]);
    Options copt, sopt;
    copt.frame_size_limit =
        r.chance(50) ? 0 : static_cast<uint32_t>(kMinFrameSizeLimit + r.below(20000));
    sopt.frame_size_limit = static_cast<uint32_t>(kMinFrameSizeLimit + r.below(60000));
    sync_and_check(s, copt, sopt);
  }
}

TEST_CASE("negentropy sync: equal timestamps with ids differing in the last bytes") {
  // Bounds need 29-32 id bytes here. The last bytes are random, not a
  // counter: the fingerprint adds ids as little-endian integers, so sets like
  // {..c9, ..ca} and {..c7, ..cc} differing only in the top bytes have equal
  // sums and counts and cannot be told apart (real ids are hashes).
  Rng r{5};
  std::vector<Item> client, server;
  for (int i = 0; i < 3000; ++i) {
    Item it{77, {}};
    it.id.fill(0x5a);
    const uint64_t tail = r.next();
    for (int b = 0; b < 4; ++b) it.id[28 + b] = static_cast<uint8_t>(tail >> (8 * b));
    const size_t where = r.below(10);
    if (where != 0) client.push_back(it);
    if (where != 1) server.push_back(it);
  }
  Options small;
  small.frame_size_limit = kMinFrameSizeLimit;
  const Storage c(client), s(server);
  REQUIRE(c.size() > 2500);
  std::string shared_prefix;
  for (int i = 0; i < 28; ++i) shared_prefix += "5a";
  CHECK(hex(client_initiate(c)).find(shared_prefix) !=
        std::string::npos);  // bounds carry >= 29 id bytes
  check_exact(run_sync(c, s), client, server);
  check_exact(run_sync(c, s, small, small), client, server);
}

TEST_CASE("negentropy sync: 100k records on each side with a few hundred differences") {
  Rng r{100000};
  const Sides sides = make_sides(r, 100000, 150, 250, ts_spread);
  const Storage client(sides.client), server(sides.server);
  const SyncStats st = run_sync(client, server);
  check_exact(st, sides.client, sides.server);
  MESSAGE("100k sync, 60000-byte frames: " << st.rounds << " rounds, " << st.up << " bytes up, "
                                           << st.down << " bytes down");
  Options small;
  small.frame_size_limit = kMinFrameSizeLimit;
  const SyncStats st2 = run_sync(client, server, small, small);
  check_exact(st2, sides.client, sides.server);
  CHECK(st2.max_down <= kMinFrameSizeLimit);
  CHECK(st2.max_up <= std::max<size_t>(kMinFrameSizeLimit, client_initiate(client).size()));
  MESSAGE("100k sync, 4096-byte frames: " << st2.rounds << " rounds");
}

TEST_CASE("negentropy frame size limit: a cut reply still reconciles exactly") {
  // An empty client asks for everything: the server's list is cut many times.
  Rng r{9};
  std::vector<Item> server;
  for (int i = 0; i < 20000; ++i) server.push_back(Item{ts_spread(r), random_id(r)});
  const Storage empty{std::vector<Item>{}}, s(server);
  for (uint32_t limit : {kMinFrameSizeLimit, 5000u, 8192u, 60000u, 1000000u}) {
    Options opt;
    opt.frame_size_limit = limit;
    const SyncStats st = run_sync(empty, s, opt, opt);
    check_exact(st, {}, server);
    CHECK(st.max_down <= limit);
    if (limit < 20000 * 32) CHECK(st.rounds > 1);
  }
  // And the other way round: the client lists everything.
  Options opt;
  opt.frame_size_limit = kMinFrameSizeLimit;
  check_exact(run_sync(s, empty, opt, opt), server, {});
}

TEST_CASE("negentropy versions: the server offers 0x61, the client refuses others") {
  const Storage s(std::vector<Item>{Item{1, {}}});
  for (uint8_t v : {0x60, 0x62, 0x6f}) {
    auto reply = server_reconcile(s, Bytes{v, 0x00, 0x00, 0x00});
    REQUIRE(reply.ok());
    CHECK(hex(reply.value()) == "61");
  }
  for (uint8_t v : {0x00, 0x5f, 0x70, 0xff}) {
    auto reply = server_reconcile(s, Bytes{v});
    CHECK_FALSE(reply.ok());
  }
  CHECK_FALSE(server_reconcile(s, Bytes{}).ok());
  // A bare version byte: everything is implicitly skipped; nothing to say.
  CHECK(hex(server_reconcile(s, Bytes{0x61}).value()) == "61");
  std::vector<Id> have, need;
  auto next = client_reconcile(s, Bytes{0x61}, have, need);
  REQUIRE(next.ok());
  CHECK(next.value().empty());
  CHECK_FALSE(client_reconcile(s, Bytes{0x62}, have, need).ok());
  CHECK(have.empty());
  CHECK(need.empty());
}

TEST_CASE("negentropy rejects malformed messages") {
  Rng r{1};
  std::vector<Item> items;
  for (int i = 0; i < 100; ++i) items.push_back(Item{ts_spread(r), random_id(r)});
  const Storage s(items);
  const auto rejected = [&](std::string_view h) {
    auto reply = server_reconcile(s, unhex(h));
    std::vector<Id> have, need;
    auto next = client_reconcile(s, unhex(h), have, need);
    CHECK(have.empty());
    CHECK(need.empty());
    return !reply.ok() && reply.error().code == nostr::Code::bad_negentropy && !next.ok();
  };
  const std::string fp16(32, '0');
  CHECK_FALSE(
      rejected("61"
               "0000"
               "01" +
               fp16));  // well-formed
  CHECK(
      rejected("61"
               "00"));  // truncated bound
  CHECK(
      rejected("61"
               "0000"));  // no mode
  CHECK(
      rejected("61"
               "0000"
               "03"));  // unknown mode
  CHECK(
      rejected("61"
               "0000"
               "01" +
               fp16.substr(2)));  // truncated fingerprint
  CHECK(
      rejected("61"
               "0000"
               "0202" +
               std::string(64, 'a')));  // id list shorter than its count
  CHECK(
      rejected("61"
               "0000"
               "02ffffffffffffffffff7f"));  // absurd count
  CHECK(
      rejected("61"
               "0121" +
               std::string(66, '1') + "00"));  // id prefix of 33 bytes
  CHECK_FALSE(
      rejected("61"
               "0500"
               "00"
               "0100"
               "00"));  // equal bounds: an empty range
  CHECK(
      rejected("61"
               "0502aa00"
               "00"
               "0101a0"
               "00"));  // (4, aa00) then (4, a0): backwards
  CHECK_FALSE(
      rejected("61"
               "0000"
               "00"
               "0500"
               "00"));  // after infinity: infinity again
  CHECK(
      rejected("61"
               "0000"
               "01" +
               fp16 + "05"));  // trailing garbage
  CHECK(
      rejected("61"
               "8000"
               "00"
               "00"));  // non-minimal varint

  // The range cap.
  Options opt;
  opt.max_ranges = 100;
  Bytes msg{0x61};
  for (int i = 0; i < 100; ++i) msg.insert(msg.end(), {0x01, 0x00, 0x00});  // skip ranges, delta 0
  CHECK(server_reconcile(s, msg, opt).ok());
  msg.insert(msg.end(), {0x01, 0x00, 0x00});
  auto reply = server_reconcile(s, msg, opt);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().text.find("ranges") != std::string::npos);

  CHECK_FALSE(message_from_hex("6").ok());
  CHECK_FALSE(message_from_hex("6A").ok());
  CHECK_FALSE(message_from_hex("zz").ok());
  CHECK(message_from_hex("").ok());
}

TEST_CASE("negentropy survives random and mutated input (never crashes, replies stay bounded)") {
  Rng r{0xbad};
  std::vector<Item> items;
  for (int i = 0; i < 3000; ++i) items.push_back(Item{ts_few(r), random_id(r)});
  const Storage s(items);
  std::vector<Item> other(items.begin(), items.begin() + 2000);
  for (int i = 0; i < 50; ++i) other.push_back(Item{ts_few(r), random_id(r)});
  const Storage c(other);

  // Seeds: real messages of a sync in both directions.
  std::vector<Bytes> seeds{client_initiate(c)};
  {
    Bytes msg = seeds[0];
    std::vector<Id> have, need;
    for (int i = 0; i < 10 && !msg.empty(); ++i) {
      auto reply = server_reconcile(s, msg);
      REQUIRE(reply.ok());
      seeds.push_back(reply.value());
      msg = client_reconcile(c, reply.value(), have, need).value();
      if (!msg.empty()) seeds.push_back(msg);
    }
  }
  Options opt;
  opt.frame_size_limit = kMinFrameSizeLimit;
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes m;
    if (r.chance(20)) {
      m.resize(r.below(200));
      for (auto& b : m) b = static_cast<uint8_t>(r.next());
      if (!m.empty() && r.chance(70)) m[0] = 0x61;
    } else {
      m = r.pick(seeds);
      const size_t edits = 1 + r.below(4);
      for (size_t e = 0; e < edits && !m.empty(); ++e) {
        const size_t at = r.below(m.size());
        switch (r.below(5)) {
          case 0:
            m[at] ^= static_cast<uint8_t>(1u << r.below(8));
            break;
          case 1:
            m.resize(at);
            break;
          case 2:
            m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(r.next()));
            break;
          case 3:
            m.erase(m.begin() + static_cast<std::ptrdiff_t>(at));
            break;
          default:
            m[at] = static_cast<uint8_t>(r.next());
            break;
        }
      }
    }
    auto reply = server_reconcile(s, m, opt);
    if (reply.ok()) {
      ++accepted;
      CHECK(reply.value().size() <= opt.frame_size_limit);
    }
    std::vector<Id> have, need;
    auto next = client_reconcile(c, m, have, need, opt);
    if (next.ok()) CHECK(next.value().size() <= opt.frame_size_limit);
  }
  CHECK(accepted > 1000);  // the mutations do reach the reconciler, not only the parser
}

TEST_CASE("negentropy: a hostile message of max_ranges mismatching fingerprints stays bounded") {
  Rng r{77};
  std::vector<Item> items;
  for (int i = 0; i < 100000; ++i) items.push_back(Item{ts_spread(r), random_id(r)});
  const Storage s(items);
  const Options opt;  // defaults
  Bytes msg{0x61};
  BoundWriter w;
  // Ranges over the whole set, each with a wrong fingerprint: every one asks
  // for a fingerprint and a split.
  for (uint32_t i = 0; i < opt.max_ranges; ++i) {
    const size_t idx = (static_cast<size_t>(i) + 1) * s.size() / opt.max_ranges;
    const Bound b =
        idx >= s.size() ? Bound{kInfinity, 0, {}} : Bound{s[idx].timestamp, 32, s[idx].id};
    w.append(msg, b);
    msg.push_back(0x01);
    msg.insert(msg.end(), kFingerprintSize, 0x00);
  }
  auto reply = server_reconcile(s, msg, opt);
  REQUIRE(reply.ok());
  CHECK(reply.value().size() <= opt.frame_size_limit);
}
