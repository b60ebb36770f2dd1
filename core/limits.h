// Relay limits: one struct whose field names map onto NIP-11 `limitation`.
#pragma once

#include <cstdint>
#include <string>

namespace nostr {

struct Limits {
  uint32_t max_message_length = 131072;  // bytes of one websocket frame
  uint32_t max_subscriptions = 100;      // open REQs per connection
  uint32_t max_filters = 10;             // filters per REQ/COUNT
  uint32_t max_limit = 500;              // cap applied to a filter's `limit`
  uint32_t default_limit = 500;          // used when a filter has no `limit`
  uint32_t max_subid_length = 64;
  uint32_t max_event_tags = 2000;
  uint32_t max_content_length = 65536;   // bytes of UTF-8 content
  uint32_t max_event_size = 131072;      // bytes of the event's raw JSON
  uint32_t max_filter_values = 1000;     // items in one filter array (ids, authors, #x...)
  uint32_t max_json_depth = 16;          // nesting of a client frame (REQ needs 4)
  // Relative to now; 0 disables the check (NIP-11 semantics).
  uint64_t created_at_lower_limit = 0;    // reject events older than now - this
  uint64_t created_at_upper_limit = 900;  // reject events newer than now + this
};

// Appends the NIP-11 `limitation` object for `l` (plus the flags NIP-11 puts there).
void append_nip11_limitation(std::string& out, const Limits& l, bool auth_required,
                             bool payment_required, bool restricted_writes);

}  // namespace nostr
