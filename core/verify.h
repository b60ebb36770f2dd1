// BIP-340 Schnorr verification (libsecp256k1).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "core/event.h"
#include "core/result.h"
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

// An event whose id is the sha256 of its serialization and whose signature
// verifies under its pubkey. Only validate_event makes one, so a function
// taking a VerifiedEvent cannot be handed an unchecked event.
class VerifiedEvent {
 public:
  const Event& event() const { return e_; }
  const Event* operator->() const { return &e_; }

 private:
  explicit VerifiedEvent(Event&& e) : e_(std::move(e)) {}
  friend Result<VerifiedEvent> validate_event(Event&& e);
  Event e_;
};

// The validate step: id hash + BIP-340 verification, the costly part of
// accepting an event (~45 µs native, ~95 µs wasm). Pure: no engine state, so a
// host may run it on any thread, ahead of the engine's serial apply step.
// Returns the event as verified, or Code::id_mismatch / Code::bad_signature.
[[nodiscard]] Result<VerifiedEvent> validate_event(Event&& e);

// Parses one event's JSON (`json` is copied; `parser` is the caller's, one per
// thread) and validates it: everything a host can do for an EVENT before the
// engine sees it. Structure errors come from Event::parse.
[[nodiscard]] Result<VerifiedEvent> validate_event_json(simdjson::dom::parser& parser, std::string_view json,
                                                        const Limits& limits);

}  // namespace nostr
