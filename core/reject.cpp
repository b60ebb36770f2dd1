#include "core/reject.h"

namespace nostr {

std::string_view prefix_text(Prefix p) {
  switch (p) {
    case Prefix::invalid: return "invalid";
    case Prefix::duplicate: return "duplicate";
    case Prefix::blocked: return "blocked";
    case Prefix::rate_limited: return "rate-limited";
    case Prefix::restricted: return "restricted";
    case Prefix::error: return "error";
    case Prefix::auth_required: return "auth-required";
    case Prefix::pow: return "pow";
    case Prefix::mute: return "mute";
    case Prefix::unsupported: return "unsupported";
  }
  return "error";
}

std::string_view code_name(Code c) {
  switch (c) {
#define NOSTR_CODE_NAME(n) \
  case Code::n: return #n;
    NOSTR_CODE_NAME(ok)
    NOSTR_CODE_NAME(bad_json)
    NOSTR_CODE_NAME(too_deep)
    NOSTR_CODE_NAME(message_too_large)
    NOSTR_CODE_NAME(not_array)
    NOSTR_CODE_NAME(bad_message_type)
    NOSTR_CODE_NAME(unknown_message_type)
    NOSTR_CODE_NAME(wrong_arity)
    NOSTR_CODE_NAME(event_not_object)
    NOSTR_CODE_NAME(missing_field)
    NOSTR_CODE_NAME(duplicate_field)
    NOSTR_CODE_NAME(unknown_field)
    NOSTR_CODE_NAME(bad_id)
    NOSTR_CODE_NAME(bad_pubkey)
    NOSTR_CODE_NAME(bad_sig)
    NOSTR_CODE_NAME(bad_created_at)
    NOSTR_CODE_NAME(bad_kind)
    NOSTR_CODE_NAME(bad_tags)
    NOSTR_CODE_NAME(bad_content)
    NOSTR_CODE_NAME(too_many_tags)
    NOSTR_CODE_NAME(content_too_long)
    NOSTR_CODE_NAME(event_too_large)
    NOSTR_CODE_NAME(id_mismatch)
    NOSTR_CODE_NAME(bad_signature)
    NOSTR_CODE_NAME(created_at_too_old)
    NOSTR_CODE_NAME(created_at_too_new)
    NOSTR_CODE_NAME(expired)
    NOSTR_CODE_NAME(bad_sub_id)
    NOSTR_CODE_NAME(too_many_filters)
    NOSTR_CODE_NAME(bad_filter)
    NOSTR_CODE_NAME(too_many_subscriptions)
    NOSTR_CODE_NAME(no_filters)
    NOSTR_CODE_NAME(duplicate)
    NOSTR_CODE_NAME(storage_error)
    NOSTR_CODE_NAME(unsupported)
    NOSTR_CODE_NAME(auth_required)
    NOSTR_CODE_NAME(restricted)
    NOSTR_CODE_NAME(rate_limited)
    NOSTR_CODE_NAME(blocked)
    NOSTR_CODE_NAME(bad_auth)
    NOSTR_CODE_NAME(unsupported_filter)
    NOSTR_CODE_NAME(auth_only_kind)
    NOSTR_CODE_NAME(protected_event)
    NOSTR_CODE_NAME(pow_too_low)
    NOSTR_CODE_NAME(vanish_elsewhere)
    NOSTR_CODE_NAME(bad_negentropy)
#undef NOSTR_CODE_NAME
  }
  return "unknown";
}

Prefix code_prefix(Code c) {
  switch (c) {
    case Code::duplicate: return Prefix::duplicate;
    case Code::storage_error: return Prefix::error;
    case Code::unsupported: return Prefix::error;
    case Code::auth_required: return Prefix::auth_required;
    case Code::restricted: return Prefix::restricted;
    case Code::rate_limited: return Prefix::rate_limited;
    case Code::blocked: return Prefix::blocked;
    case Code::unsupported_filter: return Prefix::unsupported;
    case Code::protected_event: return Prefix::auth_required;
    case Code::pow_too_low: return Prefix::pow;
    default: return Prefix::invalid;
  }
}

std::string Reject::wire_message() const {
  std::string out(prefix_text(code_prefix(code)));
  out += ": ";
  out += text;
  return out;
}

}  // namespace nostr
