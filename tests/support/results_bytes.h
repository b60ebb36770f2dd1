// Building a statement results buffer (core/results.h's format) by hand, for
// tests that answer the engine's components without a store.
#pragma once

#include <cstdint>
#include <string>

namespace nostr::test {

// Appends `v` as 4 little-endian bytes (every count and length in the format).
inline void u32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  out.append(b, 4);
}

}  // namespace nostr::test
