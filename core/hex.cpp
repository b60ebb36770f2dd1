#include "core/hex.h"

namespace nostr {
namespace {

// -1 for anything that is not [0-9a-f].
constexpr int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool decode_lower_hex(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = lower_hex_value(hex[2 * i]);
    const int lo = lower_hex_value(hex[2 * i + 1]);
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

void encode_hex(const uint8_t* bytes, size_t n, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  std::string s(2 * n, '\0');
  encode_hex(bytes, n, s.data());
  return s;
}

}  // namespace nostr
