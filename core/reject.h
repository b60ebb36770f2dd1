// Rejections: why the relay refuses something, as a machine-readable code
// plus the human text that follows the NIP-01 prefix ("invalid: <text>").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nostr {

// NIP-01 / NIP-42 machine-readable prefixes for OK and CLOSED messages.
enum class Prefix : uint8_t {
  invalid,
  duplicate,
  blocked,
  rate_limited,
  restricted,
  error,
  auth_required,
  pow,
  mute,
  unsupported,  // not a NIP-01 prefix: kept for refusals of unsupported filter features
};

// Returns the prefix as written on the wire, e.g. "rate-limited". Static storage.
std::string_view prefix_text(Prefix p);

// Every distinct reason the core can refuse input. Stable: tests and the C ABI
// use the numeric values; append only.
enum class Code : uint16_t {
  ok = 0,
  // Framing: the frame itself.
  bad_json = 1,          // not valid JSON (or invalid UTF-8)
  too_deep = 2,          // nesting beyond the parser's depth limit
  message_too_large = 3, // frame longer than limits.max_message_length
  not_array = 4,         // top level is not a JSON array
  bad_message_type = 5,  // first element missing or not a string
  unknown_message_type = 6,
  wrong_arity = 7,       // wrong number of elements for the message type
  // Event structure.
  event_not_object = 10,
  missing_field = 11,
  duplicate_field = 12,
  unknown_field = 13,
  bad_id = 14,           // id not 64 lowercase hex chars
  bad_pubkey = 15,
  bad_sig = 16,          // sig not 128 lowercase hex chars
  bad_created_at = 17,   // not a non-negative integer (floats, strings, exponents...)
  bad_kind = 18,         // not an integer in 0..65535
  bad_tags = 19,         // not an array of arrays of strings
  bad_content = 20,      // not a string
  too_many_tags = 21,
  content_too_long = 22,
  event_too_large = 23,
  // Event semantics.
  id_mismatch = 30,      // id is not sha256 of the canonical serialization
  bad_signature = 31,    // BIP-340 verification failed
  created_at_too_old = 32,
  created_at_too_new = 33,
  expired = 34,          // NIP-40 expiration already passed
  // Subscriptions and filters.
  bad_sub_id = 40,
  too_many_filters = 41,
  bad_filter = 42,
  too_many_subscriptions = 43,
  no_filters = 44,
  // Relay policy and state.
  duplicate = 50,
  storage_error = 51,
  unsupported = 52,      // recognised but not supported (e.g. NEG-*)
  auth_required = 53,
  restricted = 54,
  rate_limited = 55,
  blocked = 56,
  bad_auth = 57,         // a NIP-42 AUTH event that does not authenticate
  unsupported_filter = 58,  // a filter feature this relay does not implement (search)
  auth_only_kind = 59,   // kind 22242 published as an EVENT
  protected_event = 60,  // NIP-70: only its authenticated author may publish it
  pow_too_low = 61,      // NIP-13: below limits.min_pow_difficulty
  vanish_elsewhere = 62, // NIP-62: a request to vanish not naming this relay
  bad_negentropy = 63,   // NIP-77: a malformed negentropy message (core/negentropy.h)
};

// Returns a stable snake_case name for the code ("id_mismatch"). Static storage.
std::string_view code_name(Code c);

// Returns the NIP-01 prefix a code is reported with.
Prefix code_prefix(Code c);

struct Reject {
  Code code = Code::ok;
  std::string text;  // what follows "prefix: "

  // Returns "prefix: text", the string sent in OK/CLOSED/NOTICE.
  std::string wire_message() const;
};

inline Reject reject(Code code, std::string text) { return Reject{code, std::move(text)}; }

}  // namespace nostr
