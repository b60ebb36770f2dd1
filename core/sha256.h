// SHA-256 (FIPS 180-4). libsecp256k1 exports no plain sha256, so we carry one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nostr {

using Digest32 = std::array<uint8_t, 32>;

// Incremental hasher. Feed with update(), then finish() once.
class Sha256 {
 public:
  Sha256();
  // Borrows data only for the duration of the call.
  void update(const uint8_t* data, size_t len);
  void update(std::string_view s) { update(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  // Returns the digest; the hasher must not be used afterwards.
  Digest32 finish();

 private:
  void compress(const uint8_t* block);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// Returns sha256(data).
Digest32 sha256(std::string_view data);

}  // namespace nostr
