// NIP-45 HyperLogLog: the offset rule, and the registers the SQL plan computes
// against a reference written from the NIP text, on crafted and random pubkeys.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "../support/rng.h"
#include "../support/sqlite_exec.h"
#include "core/hex.h"
#include "core/hll.h"
#include "core/read_plan.h"
#include "core/results.h"
#include "core/sha256.h"
#include "core/sql.h"

namespace {

using nostr::test::Rng;

nostr::CompiledFilter filter(simdjson::dom::parser& p, const std::string& json) {
  auto f = nostr::CompiledFilter::parse(p, json, nostr::Limits{});
  REQUIRE_MESSAGE(f.ok(), json);
  return std::move(f).value();
}

// NIP-45, step by step: register = pubkey byte at `offset`; value = 1 + the
// count of leading zero bits in the bytes after it, up to offset + 7.
void reference_add(std::array<uint8_t, 256>& regs, const std::array<uint8_t, 32>& pk, int offset) {
  int zeros = 0;
  for (int i = offset + 1; i < offset + 8; ++i) {
    int bit = 7;
    while (bit >= 0 && !(pk[i] >> bit & 1)) {
      ++zeros;
      --bit;
    }
    if (bit >= 0) break;
  }
  regs[pk[offset]] = std::max<uint8_t>(regs[pk[offset]], static_cast<uint8_t>(zeros + 1));
}

std::string hex(const std::array<uint8_t, 32>& b) { return nostr::to_hex(b.data(), b.size()); }

}  // namespace

TEST_CASE(
    "NIP-45 offset: one tag value; hex digit 32 + 8 of the id, pubkey, address pubkey or sha256") {
  simdjson::dom::parser p;
  const std::string id = std::string(32, '0') + "c" + std::string(31, '1');  // digit 32 is 'c' = 12
  CHECK(nostr::hll_offset(filter(p, R"({"#e":[")" + id + R"("],"kinds":[7]})")) == 20);
  CHECK(nostr::hll_offset(filter(p, R"({"#p":[")" + id + R"("],"kinds":[3]})")) == 20);
  CHECK(nostr::hll_offset(filter(p, R"({"#a":["30023:)" + id + R"(:my-post"],"kinds":[7]})")) ==
        20);
  const nostr::Digest32 d = nostr::sha256("bitcoin");
  const std::string h = nostr::to_hex(d.data(), d.size());
  const int expect = (h[32] <= '9' ? h[32] - '0' : h[32] - 'a' + 10) + 8;
  CHECK(nostr::hll_offset(filter(p, R"({"#t":["bitcoin"]})")) == expect);
  // Not the NIP-45 shape: no tag, two tags, two values.
  CHECK_FALSE(nostr::hll_offset(filter(p, R"({"kinds":[1]})")));
  CHECK_FALSE(nostr::hll_offset(filter(p, R"({"#e":[")" + id + R"("],"#p":[")" + id + R"("]})")));
  CHECK_FALSE(nostr::hll_offset(filter(p, R"({"#t":["a","b"]})")));
}

TEST_CASE("NIP-45 registers from SQL equal the reference on crafted and random pubkeys") {
  nostr::test::SqliteDb db(std::string(NOSTR_SOURCE_DIR) + "/schema.sql");
  simdjson::dom::parser p;
  Rng rng{0x45a11ULL};
  for (int round = 0; round < 6; ++round) {
    std::string target(64, '0');
    for (char& c : target) c = "0123456789abcdef"[rng.below(16)];
    const auto f = filter(p, R"({"#e":[")" + target + R"("],"kinds":[7]})");
    const auto offset = nostr::hll_offset(f);
    REQUIRE(offset);
    std::array<uint8_t, 256> expect{};
    std::string sql = "BEGIN;";
    const int n = round == 0 ? 0 : 40 * round;
    for (int i = 0; i < n; ++i) {
      std::array<uint8_t, 32> pk{};
      for (auto& b : pk) b = static_cast<uint8_t>(rng.below(256));
      // Crafted: zero bytes and small values right after the offset, up to all
      // seven (the largest value, 57), and repeated authors.
      const int zeros = static_cast<int>(rng.below(9));
      for (int z = 1; z <= zeros && z < 8; ++z) pk[*offset + z] = 0;
      if (zeros < 7 && rng.chance(50))
        pk[*offset + 1 + zeros] = static_cast<uint8_t>(1 + rng.below(3));
      reference_add(expect, pk, *offset);
      std::array<uint8_t, 32> id{};
      for (auto& b : id) b = static_cast<uint8_t>(rng.below(256));
      for (int copy = 0; copy < (i % 5 == 0 ? 2 : 1); ++copy) {  // the same author twice
        if (copy) id[0] ^= 0xff;
        sql += "INSERT INTO events (id, pubkey, created_at, kind, raw) VALUES ('" + hex(id) +
               "','" + hex(pk) + "',1,7,'{}');INSERT INTO tags VALUES ('" + hex(id) + "','e','" +
               target + "',1,7);";
      }
    }
    REQUIRE(db.exec_script(sql + "COMMIT;"));
    auto st = nostr::plan_count_hll({f}, 100, {}, *offset);
    REQUIRE(st.ok());
    std::string out, err;
    REQUIRE_MESSAGE(db.run_one(st.value(), out, err), err);
    std::vector<nostr::ResultSet> rs;
    REQUIRE(nostr::parse_results(out, rs));
    std::array<uint8_t, 256> got{};
    uint64_t count = 0;
    for (uint32_t i = 0; i < rs[0].rows; ++i) {
      uint8_t reg = 0;
      REQUIRE(nostr::decode_lower_hex(rs[0].cell(i, 1), &reg, 1));
      got[reg] = static_cast<uint8_t>(std::stoi(std::string(rs[0].cell(i, 2))));
      count = std::stoull(std::string(rs[0].cell(i, 0)));
    }
    CAPTURE(round);
    CHECK(count == static_cast<uint64_t>(n + (n + 4) / 5));
    CHECK(nostr::hll_hex(got) == nostr::hll_hex(expect));
    if (n > 0) CHECK(*std::max_element(got.begin(), got.end()) >= 2);
  }
}
