// Lowercase hex encoding/decoding for ids, pubkeys and signatures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nostr {

// Returns true and fills out[0..hex.size()/2) if `hex` is exactly 2*n lowercase
// hex digits. Uppercase is rejected on purpose: NIP-01 requires lowercase.
[[nodiscard]] bool decode_lower_hex(std::string_view hex, uint8_t* out, size_t n);

// Writes 2*n lowercase hex chars for bytes[0..n) into out (no terminator).
void encode_hex(const uint8_t* bytes, size_t n, char* out);

// Returns the lowercase hex string of bytes[0..n).
std::string to_hex(const uint8_t* bytes, size_t n);

}  // namespace nostr
