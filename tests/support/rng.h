// Test support: xorshift64*, a deterministic generator for randomized tests
// (std:: distributions differ between standard libraries; this does not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nostr::test {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
};

}  // namespace nostr::test
