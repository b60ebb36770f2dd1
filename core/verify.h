// BIP-340 Schnorr verification (libsecp256k1).
#pragma once

#include <cstdint>

#include "core/types.h"

namespace nostr {

// Returns true if `sig` is a valid BIP-340 signature of the 32-byte message
// `msg32` under x-only `pubkey`. Invalid pubkeys (not on the curve) give false.
[[nodiscard]] bool schnorr_verify(const Signature& sig, const uint8_t* msg32, const Pubkey& pubkey);

}  // namespace nostr
