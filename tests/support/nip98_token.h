// Test support: NIP-98 Authorization headers (base64 of a signed kind 27235).
#pragma once

#include <string>
#include <string_view>

#include "core/hex.h"
#include "core/sha256.h"
#include "signer.h"

namespace nostr::test {

inline std::string b64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

inline std::string body_hash(std::string_view body) {
  const Digest32 d = sha256(body);
  return to_hex(d.data(), d.size());
}

// "Nostr <base64>" for a POST of `body` to `url` at `at`, signed by `s`.
// `content` varies the event (signing is deterministic: same inputs, same id).
inline std::string nip98_header(const Signer& s, const std::string& url, const std::string& body, uint64_t at,
                                const std::string& method = "POST", const std::string& content = "") {
  const auto e = s.sign(27235, at, {{"u", url}, {"method", method}, {"payload", body_hash(body)}}, content);
  return "Nostr " + b64(e.json);
}

}  // namespace nostr::test
