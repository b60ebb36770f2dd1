// BIP-340 Schnorr verification (libsecp256k1).
#pragma once

#include <cstdint>

#include "core/types.h"

namespace nostr {

// Runs libsecp256k1's self-test, required before secp256k1_context_static is
// used: a library miscompiled for this target (wasm, an unusual toolchain)
// aborts here instead of verifying wrongly. Cheap (microseconds); called by
// every engine constructor. Returns true (failure never returns).
bool crypto_selftest();

// Returns true if `sig` is a valid BIP-340 signature of the 32-byte message
// `msg32` under x-only `pubkey`. Invalid pubkeys (not on the curve) give false.
[[nodiscard]] bool schnorr_verify(const Signature& sig, const uint8_t* msg32, const Pubkey& pubkey);

}  // namespace nostr
