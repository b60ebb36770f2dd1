// Test support: builds and BIP-340-signs Nostr events natively (libsecp256k1),
// so relay tests can publish valid events without a JS toolchain.
#pragma once

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/hex.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace nostr::test {

using Tags = std::vector<std::vector<std::string>>;

struct SignedEvent {
  std::string id, pubkey, json;
};

class Signer {
 public:
  // A key from a small integer seed (deterministic tests).
  explicit Signer(uint32_t seed) : ctx_(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) {
    uint8_t sk[32] = {0};
    sk[0] = 0x42;
    std::memcpy(sk + 28, &seed, 4);
    sk[31] |= 1;
    secp256k1_xonly_pubkey xonly;
    uint8_t pk[32];
    const bool ok = secp256k1_keypair_create(ctx_, &keypair_, sk) &&
                    secp256k1_keypair_xonly_pub(ctx_, &xonly, nullptr, &keypair_) &&
                    secp256k1_xonly_pubkey_serialize(ctx_, pk, &xonly);
    if (!ok) std::abort();  // a fixed valid key: cannot fail (no doctest: the fuzzers use this too)
    pubkey_ = to_hex(pk, 32);
  }
  ~Signer() { secp256k1_context_destroy(ctx_); }
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  const std::string& pubkey() const { return pubkey_; }

  static std::string tags_json(const Tags& tags) {
    std::string out = "[";
    for (size_t i = 0; i < tags.size(); ++i) {
      if (i) out += ',';
      out += '[';
      for (size_t j = 0; j < tags[i].size(); ++j) {
        if (j) out += ',';
        append_json_string(out, tags[i][j]);
      }
      out += ']';
    }
    return out + "]";
  }

  // Returns a signed event. `id_override` forges the id field (signature still
  // over the real hash) when non-empty.
  SignedEvent sign(uint32_t kind, uint64_t created_at, const Tags& tags, const std::string& content,
                   const std::string& id_override = "") const {
    const std::string tj = tags_json(tags);
    std::string canon = "[0,\"" + pubkey_ + "\"," + std::to_string(created_at) + "," + std::to_string(kind) + "," + tj + ",";
    append_json_string(canon, content);
    canon += "]";
    const auto digest = sha256(canon);
    uint8_t sig[64];
    if (!secp256k1_schnorrsig_sign32(ctx_, sig, digest.data(), &keypair_, nullptr)) std::abort();
    SignedEvent ev;
    ev.id = id_override.empty() ? to_hex(digest.data(), 32) : id_override;
    ev.pubkey = pubkey_;
    ev.json = "{\"id\":\"" + ev.id + "\",\"pubkey\":\"" + pubkey_ + "\",\"created_at\":" + std::to_string(created_at) +
              ",\"kind\":" + std::to_string(kind) + ",\"tags\":" + tj + ",\"content\":";
    append_json_string(ev.json, content);
    ev.json += ",\"sig\":\"" + to_hex(sig, 64) + "\"}";
    return ev;
  }

 private:
  secp256k1_context* ctx_;
  secp256k1_keypair keypair_;
  std::string pubkey_;
};

}  // namespace nostr::test
