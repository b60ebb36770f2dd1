// Test support: decodes the engine's action records (durable/abi/relay_abi.h),
// as js-glue/codec.js does, for the simulated hosts.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace nostr::test {

inline uint32_t read_u32(const std::string& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

struct ActionRecord {
  uint32_t type, a, b;
  std::string payload;
};

// Splits an action buffer into records.
inline std::vector<ActionRecord> read_actions(const std::string& bytes) {
  std::vector<ActionRecord> out;
  size_t at = 0;
  while (at < bytes.size()) {
    const uint32_t len = read_u32(bytes, at + 12);
    out.push_back({read_u32(bytes, at), read_u32(bytes, at + 4), read_u32(bytes, at + 8), bytes.substr(at + 16, len)});
    at += 16 + ((len + 3) & ~3u);
  }
  return out;
}

// A FANOUT payload as (conn, full frame) pairs.
inline std::vector<std::pair<uint32_t, std::string>> read_fanout(const std::string& payload, uint32_t count) {
  std::vector<std::pair<uint32_t, std::string>> out;
  const uint32_t raw_len = read_u32(payload, 0);
  const std::string raw = payload.substr(4, raw_len);
  size_t p = 4 + ((raw_len + 3) & ~3u);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t conn = read_u32(payload, p), plen = read_u32(payload, p + 4);
    out.emplace_back(conn, payload.substr(p + 8, plen) + raw + "]");
    p += 8 + ((plen + 3) & ~3u);
  }
  return out;
}

}  // namespace nostr::test
