// NIP-98 HTTP authorization: "Authorization: Nostr <base64 event>" where the
// event is kind 27235, signed, recent, and names the request's URL (`u`),
// method and body hash (`payload`). NIP-86 requires the payload tag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/verify.h"
#include "simdjson.h"

namespace nostr {

inline constexpr uint32_t kHttpAuthKind = 27235;

struct HttpAuthCheck {
  std::string_view authorization;  // the header value
  std::string_view url;            // the request URL as the host received it
  std::string_view method;         // "POST"
  std::string_view body;           // the request body (its sha256 must be `payload`)
  uint64_t now;
  uint64_t window;                 // |created_at - now| allowed, seconds
};

// Returns the verified authorization event, or why it does not authorize the
// request (the text of the 401 answer). `also_url` (may be empty) is a second
// accepted `u` value: the relay's configured URL. Borrows everything; `parser`
// is reused.
[[nodiscard]] Result<VerifiedEvent> verify_http_auth(simdjson::dom::parser& parser, const HttpAuthCheck& check,
                                                     std::string_view also_url);

// Standard base64 (RFC 4648, padding optional) to bytes; false on bad input.
// Hand-written: there is no library for this in the wasm build, and it is 20 lines.
[[nodiscard]] bool base64_decode(std::string_view in, std::string& out);

}  // namespace nostr
