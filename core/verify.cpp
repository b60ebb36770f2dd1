// BIP-340 verification through libsecp256k1, using only the static context
// (verification needs no randomness and no precomputation at runtime).
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdlib>

#include "core/event.h"
#include "core/verify.h"

// Built with USE_EXTERNAL_DEFAULT_CALLBACKS so libsecp256k1 pulls in no stdio.
// Both fire only on caller bugs (illegal arguments) or internal errors.
extern "C" void secp256k1_default_illegal_callback_fn(const char*, void*) { std::abort(); }
extern "C" void secp256k1_default_error_callback_fn(const char*, void*) { std::abort(); }

namespace nostr {

bool crypto_selftest() {
  secp256k1_selftest();  // calls the error callback (abort) on failure
  return true;
}

bool schnorr_verify(const Signature& sig, const uint8_t* msg32, const Pubkey& pubkey) {
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, pubkey.data())) return false;
  return secp256k1_schnorrsig_verify(secp256k1_context_static, sig.data(), msg32, 32, &pk) == 1;
}

Status verify_event(const Event& e) {
  if (e.computed_id() != e.id()) {
    return reject(Code::id_mismatch, "id is not the sha256 of the serialized event");
  }
  if (!schnorr_verify(e.sig(), e.id().data(), e.pubkey())) {
    return reject(Code::bad_signature, "signature verification failed");
  }
  return {};
}

Result<VerifiedEvent> validate_event(Event&& e) {
  if (auto st = verify_event(e); !st) return st.error();
  return VerifiedEvent(std::move(e));
}

Result<VerifiedEvent> validate_event_json(simdjson::dom::parser& parser, std::string_view json, const Limits& limits) {
  auto e = Event::parse(parser, json, limits);
  if (!e.ok()) return e.error();
  return validate_event(std::move(e).value());
}

}  // namespace nostr
