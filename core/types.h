// Value types that can only hold valid values: build them with the factories.
#pragma once

#include <array>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/hex.h"

namespace nostr {

// A fixed-size byte string parsed from exactly 2*N lowercase hex chars.
template <size_t N, typename Tag>
class HexBytes {
 public:
  static constexpr size_t kSize = N;
  static constexpr size_t kHexSize = 2 * N;

  // Returns the value if `hex` is exactly 2*N lowercase hex digits.
  [[nodiscard]] static std::optional<HexBytes> from_hex(std::string_view hex) {
    HexBytes v;
    if (!decode_lower_hex(hex, v.bytes_.data(), N)) return std::nullopt;
    return v;
  }
  // Wraps raw bytes (any N bytes are a valid value).
  static HexBytes from_bytes(const std::array<uint8_t, N>& b) {
    HexBytes v;
    v.bytes_ = b;
    return v;
  }

  const std::array<uint8_t, N>& bytes() const { return bytes_; }
  const uint8_t* data() const { return bytes_.data(); }
  std::string hex() const { return to_hex(bytes_.data(), N); }

  // Hand-written: libc++ 14 (the wasm builds) has no operator<=> for std::array.
  bool operator==(const HexBytes& o) const { return std::memcmp(bytes_.data(), o.bytes_.data(), N) == 0; }
  bool operator!=(const HexBytes& o) const { return !(*this == o); }
  bool operator<(const HexBytes& o) const { return std::memcmp(bytes_.data(), o.bytes_.data(), N) < 0; }

 private:
  HexBytes() = default;
  std::array<uint8_t, N> bytes_{};
};

struct EventIdTag {};
struct PubkeyTag {};
struct SignatureTag {};
using EventId = HexBytes<32, EventIdTag>;
using Pubkey = HexBytes<32, PubkeyTag>;
using Signature = HexBytes<64, SignatureTag>;

// A subscription id: 1..64 chars (bytes of UTF-8), no control characters.
class SubId {
 public:
  static constexpr size_t kMaxLength = 64;
  // Returns the id if valid for NIP-01; `max_length` may only tighten the limit.
  [[nodiscard]] static std::optional<SubId> make(std::string_view s, size_t max_length = kMaxLength);
  const std::string& str() const { return s_; }
  bool operator==(const SubId& o) const { return s_ == o.s_; }
  bool operator<(const SubId& o) const { return s_ < o.s_; }

 private:
  explicit SubId(std::string s) : s_(std::move(s)) {}
  std::string s_;
};

}  // namespace nostr
